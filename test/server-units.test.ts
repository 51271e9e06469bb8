// The server's small parts, checked on their own: Range parsing, Accept
// negotiation, the rate limiter and the key store.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFromAccept } from '../packages/server/src/accept.js';
import { createKeyStore } from '../packages/server/src/keys.js';
import { MemoryLimiter as Limiter } from '../packages/server/src/limiter.js';
import { parseRange } from '../packages/server/src/range.js';

describe('parseRange', () => {
  it('reads bytes=N- and bytes=N-M, refuses other byte ranges, ignores other units', () => {
    expect(parseRange(null)).toBeUndefined();
    expect(parseRange('bytes=0-')).toEqual({ start: 0, end: undefined });
    expect(parseRange('bytes=123-')).toEqual({ start: 123, end: undefined });
    expect(parseRange('bytes=5-9')).toEqual({ start: 5, end: 9 });
    for (const bad of ['bytes=-5', 'bytes=9-5', 'bytes=a-', 'bytes=1-2,4-5', 'bytes=', 'Bytes = x']) expect(parseRange(bad)).toBe('invalid');
    for (const ignored of ['items=0-', 'octets=1-', '', 'bytesx=0-']) expect(parseRange(ignored)).toBeUndefined();
  });

  it('never throws, whatever the header', () => {
    fc.assert(fc.property(fc.string(), (header) => {
      const out = parseRange(header);
      expect(out === undefined || out === 'invalid' || (typeof out === 'object' && out.start >= 0)).toBe(true);
    }));
  });
});

describe('formatFromAccept', () => {
  it('prefers the highest q, then order; ignores what it cannot serve', () => {
    expect(formatFromAccept('audio/mpeg')).toBe('mp3');
    expect(formatFromAccept('audio/wav;q=0.5, audio/pcm')).toBe('pcm');
    expect(formatFromAccept('audio/webm, audio/x-wav')).toBe('wav');
    expect(formatFromAccept('audio/ogg, audio/x-wav')).toBe('opus');
    expect(formatFromAccept('audio/opus;q=0.9, audio/mpeg;q=0.8')).toBe('opus');
    expect(formatFromAccept('*/*')).toBeUndefined();
    expect(formatFromAccept('audio/mpeg;q=0')).toBeUndefined();
    expect(formatFromAccept(undefined)).toBeUndefined();
  });
});

describe('Limiter', () => {
  it('never admits more than burst + rate × elapsed requests per key', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0.1, max: 20, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }),
        (burst, rate, gaps) => {
          let now = 0;
          const limiter = new Limiter({ burst, requestsPerSecond: rate, concurrentStreamsPerKey: 1000, maxConcurrentStreams: 1000, now: () => now });
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            const result = limiter.admit('k');
            if ('release' in result) {
              admitted++;
              result.release();
            } else {
              expect(result.reason).toBe('rate');
              expect(result.retryAfter).toBeGreaterThanOrEqual(1);
              expect(result.retryAfter).toBeLessThanOrEqual(Math.ceil(1 / rate));
            }
          }
          expect(admitted).toBeLessThanOrEqual(burst + Math.floor((rate * now) / 1000) + 1e-9);
        },
      ),
    );
  });

  it('counts open streams per key and in total, and frees them once', () => {
    const limiter = new Limiter({ burst: 100, requestsPerSecond: 100, concurrentStreamsPerKey: 2, maxConcurrentStreams: 3, now: () => 0 });
    const a1 = limiter.admit('a');
    const a2 = limiter.admit('a');
    expect(limiter.admit('a')).toMatchObject({ reason: 'concurrency' });
    const b1 = limiter.admit('b');
    expect(limiter.admit('b')).toMatchObject({ reason: 'concurrency', message: expect.stringMatching(/server/) });
    for (const slot of [a1, a2, b1]) if ('release' in slot) slot.release();
    if ('release' in a1) a1.release(); // a second release changes nothing
    expect(limiter.openStreams).toBe(0);
  });
});

describe('createKeyStore', () => {
  it('knows its keys and nothing else; ids are not the keys', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 5 }), fc.string({ maxLength: 40 }), (keys, other) => {
        const store = createKeyStore(keys);
        expect(store.developmentKey).toBeUndefined();
        for (const key of keys) {
          const id = store.check(key);
          expect(id).toMatch(/^[0-9a-f]{8}$/);
          expect(key.includes(id!) && key.length === 8).toBe(false);
        }
        if (!keys.includes(other)) expect(store.check(other)).toBeUndefined();
      }),
    );
    expect(createKeyStore([]).developmentKey).toMatch(/^vp_dev_[A-Za-z0-9_-]{24}$/);
  });
});
