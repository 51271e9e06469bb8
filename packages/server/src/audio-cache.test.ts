// The audio cache against a plain model of an LRU within a byte budget.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audioCache, type AudioCacheEvent } from './audio-cache.js';

describe('audioCache', () => {
  it('holds what an LRU within its byte budget holds, never more than the budget, and gives back the very bytes it was given', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), tag: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 0, max: 120 }) }),
      fc.record({ kind: fc.constant('get' as const), tag: fc.integer({ min: 0, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(op, { maxLength: 60 }), (budget, ops) => {
        const events: AudioCacheEvent[] = [];
        const cache = audioCache({ maxBytes: budget, onEvent: (e) => events.push(e) });
        // The model: most recently used last.
        let model: Array<{ tag: string; bytes: Uint8Array }> = [];
        let evictions = 0;
        for (const [i, o] of ops.entries()) {
          const tag = `"t${o.tag}"`;
          if (o.kind === 'put') {
            const bytes = new Uint8Array(o.size).fill(i & 255);
            cache.put(tag, bytes);
            if (o.size === 0 || o.size > budget) continue;
            model = model.filter((e) => e.tag !== tag);
            while (model.reduce((n, e) => n + e.bytes.byteLength, 0) + o.size > budget) {
              model.shift();
              evictions++;
            }
            model.push({ tag, bytes });
          } else {
            const found = model.find((e) => e.tag === tag);
            const got = cache.get(tag);
            expect(got).toBe(found?.bytes);
            if (found) model = [...model.filter((e) => e !== found), found];
          }
          expect(cache.bytes).toBe(model.reduce((n, e) => n + e.bytes.byteLength, 0));
          expect(cache.bytes).toBeLessThanOrEqual(budget);
          expect(cache.size).toBe(model.length);
        }
        expect(events.filter((e) => e === 'eviction')).toHaveLength(evictions);
      }),
    );
  });

  it('lets streams be recorded only within its budget, given back as they end', () => {
    const cache = audioCache({ maxBytes: 100 });
    expect(cache.reserve(60)).toBe(true);
    expect(cache.reserve(50)).toBe(false);
    cache.unreserve(60);
    expect(cache.reserve(100)).toBe(true);
  });
});
