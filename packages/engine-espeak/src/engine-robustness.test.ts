import { VoxpipeError } from '@voxpipe/core';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine } from './engine.js';
import type { EspeakEngine, EspeakEngineStats } from './engine-types.js';
import { LONG_TEXT, readAll, rejectionOf, sameSamples } from './test-helpers.js';

/** How long the engine may take to settle: a hang limit, never a speed requirement (SETTLE in test/support/budgets.ts). */
const WAIT = { timeout: 30_000, interval: 20 };

const engines: EspeakEngine[] = [];
async function engineWith(workers: number, segmentChars?: number): Promise<EspeakEngine> {
  const engine = await createEspeakEngine({ workers, ...(segmentChars ? { segmentChars } : {}) });
  engines.push(engine);
  return engine;
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

/** One worker, short segments; shared by the tests that leave it idle. */
let solo: EspeakEngine;
beforeAll(async () => {
  solo = await createEspeakEngine({ workers: 1, segmentChars: 60 });
});
afterAll(async () => {
  await solo?.close();
});

type Counter = 'started' | 'completed' | 'cancelled' | 'failed' | 'stoppedEarly' | 'crashed';
/** How much each counter of `engine` grew since `before`. */
function since(engine: EspeakEngine, before: EspeakEngineStats): Record<Counter, number> {
  const now = engine.stats();
  const keys: Counter[] = ['started', 'completed', 'cancelled', 'failed', 'stoppedEarly', 'crashed'];
  return Object.fromEntries(keys.map((k) => [k, now[k] - before[k]])) as Record<Counter, number>;
}


describe('espeak engine: cancellation, backpressure, crashes', () => {
  it('aborting mid-stream stops the worker part-way, errors the stream as aborted, and frees the worker', async () => {
    const engine = solo;
    const before = engine.stats();
    const controller = new AbortController();
    // The worker pauses after its first piece (test hook), so the abort surely lands mid-synthesis.
    const stream = engine.synthesize({ text: LONG_TEXT, voice: 'en-us', signal: controller.signal, __test: { pauseAfterChunks: 1 } });
    const reader = stream.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(engine.stats().busy).toBe(1);
    controller.abort();
    const error = await rejectionOf(reader.read());
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('aborted');
    await vi.waitFor(() => expect(engine.stats()).toMatchObject({ busy: 0, active: 0 }), WAIT);
    expect(since(engine, before)).toMatchObject({ cancelled: 1, stoppedEarly: 1, completed: 0 });
    const next = await readAll(engine.synthesize({ text: 'Next please.', voice: 'en-us' }));
    expect(next.seconds).toBeGreaterThan(0.3);
    expect(since(engine, before)).toMatchObject({ completed: 1, cancelled: 1 });
  });

  it('cancelling the stream stops synthesis too', async () => {
    const engine = solo;
    const before = engine.stats();
    const reader = engine.synthesize({ text: LONG_TEXT, voice: 'en-us+f3', __test: { pauseAfterChunks: 2 } }).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    await vi.waitFor(() => expect(engine.stats().busy).toBe(0), WAIT);
    expect(since(engine, before)).toMatchObject({ cancelled: 1, stoppedEarly: 1, failed: 0 });
  });

  it('an already-aborted signal gives an aborted error and no synthesis', async () => {
    const engine = solo;
    const before = engine.stats();
    const error = await rejectionOf(readAll(engine.synthesize({ text: 'Hello', voice: 'en-us', signal: AbortSignal.abort() })));
    expect((error as VoxpipeError).code).toBe('aborted');
    expect(engine.stats()).toMatchObject({ busy: 0, queued: 0 });
    expect(since(engine, before)).toMatchObject({ cancelled: 1, stoppedEarly: 0 });
  });

  it('aborting a queued request removes it from the queue', async () => {
    const engine = solo;
    const blocker = engine.synthesize({ text: LONG_TEXT, voice: 'en-us', __test: { pauseAfterChunks: 1 } }).getReader();
    await blocker.read();
    const controller = new AbortController();
    const queued = engine.synthesize({ text: 'Waiting in line.', voice: 'en-us', signal: controller.signal });
    await vi.waitFor(() => expect(engine.stats().queued).toBe(1), WAIT);
    controller.abort();
    expect(((await rejectionOf(readAll(queued))) as VoxpipeError).code).toBe('aborted');
    expect(engine.stats().queued).toBe(0);
    await blocker.cancel();
    await vi.waitFor(() => expect(engine.stats().busy).toBe(0), WAIT);
  });

  it('a stalled reader holds at most 1 s of audio after stallMs, never a worker; reading on gives identical audio', async () => {
    const engine = await createEspeakEngine({ workers: 1, stallMs: 150 });
    engines.push(engine);
    const text = `${LONG_TEXT} ${LONG_TEXT}`;
    const stalled = engine.synthesize({ text, voice: 'en-us' });
    // Nobody reads: the first segment (≈ 6–11 s of speech) is made at full speed, then the surplus past 1 s is dropped.
    await vi.waitFor(() => {
      const stats = engine.stats();
      expect(stats.evicted).toBeGreaterThanOrEqual(1);
      expect(stats).toMatchObject({ busy: 0, queued: 0 });
    }, WAIT);
    const buffered = engine.stats().bufferedMs;
    expect(buffered).toBeGreaterThan(500);
    expect(buffered).toBeLessThanOrEqual(1000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(engine.stats()).toMatchObject({ busy: 0, queued: 0, bufferedMs: buffered, evicted: 1 });
    // The worker is free for someone else meanwhile.
    const other = await readAll(engine.synthesize({ text: 'Someone else.', voice: 'en-us' }));
    expect(other.seconds).toBeGreaterThan(0.3);
    // Reading everything gives the whole text, sample for sample what an unhurried reading gives.
    const heard = await readAll(stalled);
    const reference = await readAll(engine.synthesize({ text, voice: 'en-us' }));
    expect(sameSamples(heard.samples, reference.samples)).toBe(true);
    expect(heard.marks).toEqual(reference.marks);
    expect(engine.stats().resumed).toBeGreaterThanOrEqual(1);
    expect(engine.stats()).toMatchObject({ active: 0, bufferedMs: 0 });
  });

  it('a reader that stalls again and again still gets identical audio (property: random stall points)', async () => {
    const engine = await createEspeakEngine({ workers: 1, stallMs: 10, segmentChars: 120 });
    engines.push(engine);
    const request = { text: LONG_TEXT, voice: 'en-gb+f3' };
    const reference = await readAll(engine.synthesize(request));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 }), async (stalls) => {
        const reader = engine.synthesize(request).getReader();
        const parts: Float32Array[] = [];
        let read = 0;
        for (;;) {
          if (stalls.includes(read)) await new Promise((resolve) => setTimeout(resolve, 40));
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value.channels[0]);
          read++;
        }
        const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          samples.set(p, at);
          at += p.length;
        }
        expect(sameSamples(samples, reference.samples)).toBe(true);
      }),
      { numRuns: 6 },
    );
    expect(engine.stats().evicted).toBeGreaterThan(0);
    expect(engine.stats()).toMatchObject({ active: 0, busy: 0, queued: 0 });
  });

  it('a crashed worker fails only its own stream with a server error, is replaced, and the others finish intact', async () => {
    const engine = await engineWith(2);
    const requestB = { text: 'Second stream keeps going.', voice: 'en-us+m3' };
    const requestC = { text: 'Third stream keeps going too.', voice: 'fr+f3' };
    const [referenceB, referenceC] = [await readAll(engine.synthesize(requestB)), await readAll(engine.synthesize(requestC))];
    const crashing = rejectionOf(readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us', __test: { crashAfterChunks: 2 } })));
    const [b, c] = await Promise.all([readAll(engine.synthesize(requestB)), readAll(engine.synthesize(requestC))]);
    const error = await crashing;
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('server');
    expect((error as VoxpipeError).message).toMatch(/crash/i);
    expect(sameSamples(b.samples, referenceB.samples)).toBe(true);
    expect(sameSamples(c.samples, referenceC.samples)).toBe(true);
    await vi.waitFor(() => expect(engine.stats()).toMatchObject({ workers: 2, crashed: 1, failed: 1, busy: 0 }), WAIT);
    const after = await Promise.all([readAll(engine.synthesize(requestB)), readAll(engine.synthesize(requestB))]);
    for (const heard of after) expect(sameSamples(heard.samples, referenceB.samples)).toBe(true);
  });

  it('a segment waiting in a worker that crashes goes back to the queue: its stream completes on the new worker, sample-identical', async () => {
    const engine = await engineWith(1);
    const request = { text: 'Waiting behind a segment that crashes.', voice: 'en-gb+f3' };
    const reference = await readAll(engine.synthesize(request));
    const crashing = rejectionOf(readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us', __test: { crashAfterChunks: 2 } })));
    const waiting = readAll(engine.synthesize(request));
    // Sent at once to the only worker, to start when the crashing segment ends.
    expect(engine.stats()).toMatchObject({ busy: 1, queued: 1, waitingInWorkers: 1 });
    expect(((await crashing) as VoxpipeError).code).toBe('server');
    expect(sameSamples((await waiting).samples, reference.samples)).toBe(true);
    await vi.waitFor(() => expect(engine.stats()).toMatchObject({ workers: 1, crashed: 1, failed: 1, busy: 0, queued: 0 }), WAIT);
  });

  it('a synthesis failure inside the worker gives a server error and keeps the worker', async () => {
    const engine = solo;
    const before = engine.stats();
    const error = await rejectionOf(readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us', __test: { throwAfterChunks: 1 } })));
    expect((error as VoxpipeError).code).toBe('server');
    expect(engine.stats().workers).toBe(1);
    expect(since(engine, before)).toMatchObject({ crashed: 0, failed: 1 });
    const heard = await readAll(engine.synthesize({ text: 'Still here.', voice: 'en-us' }));
    expect(heard.seconds).toBeGreaterThan(0.3);
  });

  it('after many failures inside espeak the worker still speaks the same samples (a failure leaves nothing behind)', async () => {
    const engine = solo;
    const reference = await readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us+f3' }));
    const before = engine.stats();
    for (let i = 0; i < 200; i++) await rejectionOf(readAll(engine.synthesize({ text: 'Fail at once, please.', voice: 'en-us', __test: { throwAfterChunks: 1 } })));
    expect(since(engine, before)).toMatchObject({ crashed: 0, failed: 200 });
    expect(sameSamples((await readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us+f3' }))).samples, reference.samples)).toBe(true);
  });

  it('close() ends streams in flight with an error and refuses new ones', async () => {
    const engine = await createEspeakEngine({ workers: 1 });
    const reader = engine.synthesize({ text: LONG_TEXT, voice: 'en-us', __test: { pauseAfterChunks: 1 } }).getReader();
    await reader.read();
    await engine.close();
    const error = await rejectionOf(reader.read());
    expect((error as VoxpipeError).code).toBe('server');
    expect(engine.stats().workers).toBe(0);
    const late = await rejectionOf(readAll(engine.synthesize({ text: 'Too late.', voice: 'en-us' })));
    expect((late as VoxpipeError).code).toBe('server');
    await engine.close(); // twice is fine
  });

  it('gives the same samples from a different engine started later (the seed is pinned, not the clock)', async () => {
    const request = { text: 'Resume me from the middle, please.', voice: 'es+f3', speed: 0.9 };
    const first = await engineWith(1);
    const a = await readAll(first.synthesize(request));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await engineWith(1);
    const b = await readAll(second.synthesize(request));
    expect(sameSamples(a.samples, b.samples)).toBe(true);
  });
});
