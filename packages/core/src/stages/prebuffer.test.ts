import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyPcm, type Format } from '../format.js';
import { pipeline } from '../index.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { assembleFromSpec } from '../spec.js';
import { collect } from '../sinks/collect.js';
import { fromIterable } from '../sources/from-iterable.js';
import { tone } from '../sources/tone.js';
import { acceptedWhileStalled, arbitraryPcm, pcmPartitions, runTransform, settleTurns, testContext, type TestContext } from '../testing/index.js';
import { prebuffer, type PrebufferOptions } from './prebuffer.js';

const RATE = 24000;

/** A mono chunk of `ms` at 24 kHz whose samples all equal `value` (so order is visible). */
function chunk(ms: number, value = 0.1): PcmChunk {
  return { sampleRate: RATE, channels: [new Float32Array(Math.round((ms * RATE) / 1000)).fill(value)] };
}

/** Drives one run of a prebuffer by hand: write and read one chunk at a time, and see what is settled. */
function drive(options: PrebufferOptions, format: Format = anyPcm, ctx: TestContext = testContext('prebuffer')) {
  const stream = prebuffer(options).create(ctx, format);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const got: unknown[] = [];
  let readsDone = 0;
  const read = () => {
    const p = reader.read().then((r) => {
      if (!r.done) got.push(r.value);
      readsDone++;
      return r;
    });
    p.catch(() => {});
    return p;
  };
  const events = (type: string) => ctx.events.filter((e) => e.type === type).map((e) => e.detail as Record<string, unknown>);
  return { ctx, writer, reader, got, read, events, readsDone: () => readsDone };
}

describe('prebuffer', () => {
  it('holds the first chunks until three are in, then lets them flow', async () => {
    const d = drive({});
    const first = d.read();
    void d.writer.write(chunk(20, 1));
    void d.writer.write(chunk(20, 2));
    await settleTurns(3);
    expect(d.readsDone()).toBe(0);
    expect(d.events('buffering')).toEqual([{ bufferedMs: 20, reason: 'start' }]);
    void d.writer.write(chunk(20, 3));
    const r = await first;
    expect((r.value as PcmChunk).channels[0][0]).toBe(1);
    expect(d.events('playing')).toEqual([{ bufferedMs: 60 }]);
    await d.read();
    await d.read();
    expect(d.got.map((c) => (c as PcmChunk).channels[0][0])).toEqual([1, 2, 3]);
    expect(d.ctx.metrics.underruns).toBe(0);
  });

  it('measures ms as audio time', async () => {
    const d = drive({ ms: 50 });
    const first = d.read();
    void d.writer.write(chunk(20));
    void d.writer.write(chunk(20));
    await settleTurns(3);
    expect(d.readsDone()).toBe(0);
    void d.writer.write(chunk(20));
    await first;
    expect(d.events('playing')[0].bufferedMs).toBeCloseTo(60, 6);
  });

  it('gives a short utterance below the threshold in full at the end', async () => {
    const ctx = testContext('prebuffer');
    const input = [chunk(20, 0.5), chunk(7, 0.25)];
    const out = await runTransform(prebuffer({ chunks: 3 }), input, anyPcm, ctx);
    expect(out).toEqual(input);
    expect(out[0]).toBe(input[0]);
    expect(ctx.events.map((e) => e.type)).toEqual(['buffering', 'playing']);
    expect(ctx.events[1].detail).toEqual({ bufferedMs: 27 });
  });

  it('gives nothing and reports nothing for empty input', async () => {
    const ctx = testContext('prebuffer');
    expect(await runTransform(prebuffer(), [], anyPcm, ctx)).toEqual([]);
    expect(ctx.events).toEqual([]);
  });

  it('measures raw PCM bytes in ms when the rate and encoding are known', async () => {
    // 8 kHz s16le mono: 16 bytes per ms, so 100 ms = 1600 bytes = two 1000-byte chunks
    const format: Format = { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 8000, channels: 1 };
    const d = drive({ kind: 'bytes', ms: 100 }, format);
    const first = d.read();
    void d.writer.write(new Uint8Array(1000).fill(1));
    await settleTurns(3);
    expect(d.readsDone()).toBe(0);
    void d.writer.write(new Uint8Array(1000).fill(2));
    expect(((await first).value as Uint8Array)[0]).toBe(1);
    expect(d.events('playing')).toEqual([{ bufferedMs: 125 }]);
  });

  it('takes the rate from the declared format, and counts chunks (with a warning) when bytes cannot be timed', async () => {
    const declared = testContext('prebuffer', { kind: 'bytes', container: 'mulaw', sampleRate: 8000 });
    const timed = drive({ kind: 'bytes', ms: 10 }, { kind: 'bytes' }, declared);
    const first = timed.read();
    void timed.writer.write(new Uint8Array(80));
    await first; // 80 µ-law bytes at 8 kHz are 10 ms
    expect(timed.events('playing')).toEqual([{ bufferedMs: 10 }]);

    const mp3 = drive({ kind: 'bytes', ms: 10 }, { kind: 'bytes', container: 'mp3' });
    const read = mp3.read();
    void mp3.writer.write(new Uint8Array(80));
    void mp3.writer.write(new Uint8Array(80));
    await settleTurns(3);
    expect(mp3.readsDone()).toBe(0);
    void mp3.writer.write(new Uint8Array(80));
    await read;
    expect(mp3.events('warning')[0].code).toBe('prebuffer-chunks');
    expect(mp3.events('playing')[0].bufferedMs).toBeNaN();
  });

  it('reports an underrun when the consumer outruns the input, and holds again with rebuffer', async () => {
    const d = drive({ chunks: 2, rebuffer: true });
    void d.writer.write(chunk(20, 1));
    void d.writer.write(chunk(20, 2));
    await d.read();
    await d.read();
    const waiting = d.read(); // nothing held, input not ended: an underrun
    await settleTurns(2);
    expect(d.events('underrun')).toEqual([{ bufferedMs: 0 }]);
    expect(d.ctx.metrics.underruns).toBe(1);
    expect(d.events('buffering')).toEqual([
      { bufferedMs: 20, reason: 'start' },
      { bufferedMs: 0, reason: 'underrun' },
    ]);
    void d.writer.write(chunk(20, 3));
    await settleTurns(3);
    expect(d.readsDone()).toBe(2); // holding again until two chunks are in
    void d.writer.write(chunk(20, 4));
    expect(((await waiting).value as PcmChunk).channels[0][0]).toBe(3);
    expect(d.events('playing')).toHaveLength(2);
  });

  it('without rebuffer, plays the next chunk as soon as it comes after an underrun', async () => {
    const d = drive({ chunks: 1 });
    void d.writer.write(chunk(20, 1));
    await d.read();
    const waiting = d.read();
    await settleTurns(2);
    expect(d.ctx.metrics.underruns).toBe(1);
    void d.writer.write(chunk(20, 2));
    expect(((await waiting).value as PcmChunk).channels[0][0]).toBe(2);
    expect(d.events('buffering')).toHaveLength(1);
  });

  it('rebuffers to its own ms target with rebuffer: { ms }', async () => {
    const d = drive({ chunks: 1, rebuffer: { ms: 50 } });
    void d.writer.write(chunk(20, 1));
    await d.read();
    const waiting = d.read();
    void d.writer.write(chunk(20, 2));
    void d.writer.write(chunk(20, 3));
    await settleTurns(3);
    expect(d.readsDone()).toBe(1);
    void d.writer.write(chunk(20, 4));
    expect(((await waiting).value as PcmChunk).channels[0][0]).toBe(2);
  });

  it('counts underruns in a real pipeline whose source is slower than its sink, and still gives every chunk', async () => {
    async function* slow() {
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield chunk(20, i / 10);
      }
    }
    const run = pipeline(fromIterable(slow(), { format: { kind: 'pcm', sampleRate: RATE, channels: 1 } }), prebuffer({ chunks: 3, rebuffer: true }), collect());
    const { value, metrics } = await run.done;
    expect(value!.chunks.map((c) => (c as PcmChunk).channels[0][0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => Math.fround(i / 10)));
    expect(metrics.underruns).toBeGreaterThan(0);
    const types = run.events.history().map((e) => e.type);
    expect(types.indexOf('buffering')).toBeLessThan(types.indexOf('playing'));
    expect(types).toContain('underrun');
  });

  it('property: passes every chunk through untouched and in order, for any split and threshold', async () => {
    const optionsArb = fc.oneof(
      fc.record({ chunks: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ ms: fc.double({ min: 0.01, max: 300, noNaN: true }), rebuffer: fc.boolean() }),
      fc.record({ chunks: fc.integer({ min: 1, max: 4 }), rebuffer: fc.boolean(), maxMs: fc.double({ min: 1, max: 200, noNaN: true }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 600 }).chain((pcm) => pcmPartitions(pcm)),
        optionsArb,
        async (parts, options) => {
          const out = await runTransform(prebuffer(options), parts, anyPcm);
          expect(out.length).toBe(parts.length);
          out.forEach((c, i) => expect(c).toBe(parts[i]));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: lets nothing out before the threshold unless the input ends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 6 }), async (threshold, n) => {
        const d = drive({ chunks: threshold });
        const first = d.read();
        for (let i = 0; i < n; i++) {
          if (i < threshold) expect(d.readsDone()).toBe(0);
          void d.writer.write(chunk(10, i));
          await settleTurns(1);
        }
        if (n < threshold) {
          await settleTurns(2);
          expect(d.readsDone()).toBe(0);
          void d.writer.close();
        }
        const r = await first;
        expect(r.done).toBe(n === 0);
        expect(d.readsDone()).toBe(1);
      }),
      { numRuns: 25 },
    );
  });

  it('property: behind a stalled reader it holds at most the larger of its threshold and maxMs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 5, max: 200 }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        async (chunkMs, thresholdMs, maxMs) => {
          const bound = Math.max(thresholdMs, maxMs ?? 0);
          const input = Array.from({ length: Math.ceil(bound / chunkMs) + 5 }, () => chunk(chunkMs));
          const accepted = await acceptedWhileStalled(prebuffer({ ms: thresholdMs, maxMs }), input, anyPcm);
          // every finished write left it below the bound, and it took enough to reach it
          expect(accepted * chunkMs).toBeLessThan(bound);
          expect((accepted + 1) * chunkMs).toBeGreaterThanOrEqual(bound);
        },
      ),
      { numRuns: 25 },
    );
    const accepted = await acceptedWhileStalled(prebuffer({ chunks: 3 }), Array.from({ length: 20 }, () => chunk(20)), anyPcm);
    expect(accepted).toBe(2); // the third chunk is held; its write waits for the reader
  });

  it('property: an abort at any point settles every read and write, and leaves nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('w', 'r'), { maxLength: 12 }), fc.boolean(), async (ops, viaSignal) => {
        const d = drive({ chunks: 2, rebuffer: true, maxMs: 30 });
        const pending: Promise<unknown>[] = [];
        for (const op of ops) {
          pending.push(op === 'w' ? d.writer.write(chunk(20)).catch(() => {}) : d.read().catch(() => {}));
          await settleTurns(1);
        }
        if (viaSignal) d.ctx.controller.abort(new VoxpipeError('aborted', 'stop'));
        else void d.writer.abort(new VoxpipeError('aborted', 'stop')).catch(() => {});
        await Promise.all(pending); // would hang if anything stayed pending
        await d.reader.read().then(
          () => expect.unreachable('the readable must be errored'),
          (error) => expect((error as VoxpipeError).code).toBe('aborted'),
        );
        d.ctx.finish();
        expect(d.ctx.pendingCleanups()).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('aborts cleanly inside a pipeline', async () => {
    const controller = new AbortController();
    async function* endless() {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield chunk(20);
      }
    }
    const run = pipeline({ signal: controller.signal }, fromIterable(endless(), { format: anyPcm }), prebuffer({ ms: 100 }), collect());
    await run.events.once('playing');
    controller.abort();
    expect((await run.done).outcome).toBe('aborted');
  });

  it('fails with a typed error on bad input, on both sides', async () => {
    const d = drive({});
    const read = d.read();
    await expect(d.writer.write({ sampleRate: RATE, channels: [[0, 1]] } as unknown as PcmChunk)).rejects.toMatchObject({ code: 'format', stage: 'prebuffer' });
    await expect(read).rejects.toBeInstanceOf(VoxpipeError);

    const mixed = drive({});
    await mixed.writer.write(chunk(10));
    await expect(mixed.writer.write({ sampleRate: 16000, channels: [new Float32Array(4)] })).rejects.toMatchObject({ code: 'format' });

    const bytes = drive({ kind: 'bytes' }, { kind: 'bytes' });
    await expect(bytes.writer.write('text')).rejects.toMatchObject({ code: 'format' });
  });

  it('rejects bad options with a message naming the option', () => {
    expect(() => prebuffer({ chunks: 0 })).toThrow(/prebuffer.*chunks/);
    expect(() => prebuffer({ ms: -5 })).toThrow(/prebuffer.*ms/);
    expect(() => prebuffer({ chunks: 2, ms: 100 })).toThrow(/not both/);
    expect(() => prebuffer({ rebuffer: { ms: 0 } })).toThrow(/rebuffer/);
    expect(() => prebuffer({ kind: 'text' } as never)).toThrow(/kind/);
  });

  it('round-trips its spec through JSON, giving the same audio', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ chunks: fc.integer({ min: 1, max: 8 }) }, { requiredKeys: [] }),
          fc.record({ ms: fc.integer({ min: 1, max: 500 }), rebuffer: fc.oneof(fc.boolean(), fc.record({ ms: fc.integer({ min: 1, max: 300 }) })), maxMs: fc.integer({ min: 1, max: 900 }) }, { requiredKeys: ['ms'] }),
        ),
        async (options) => {
          const stage = prebuffer(options);
          const json = JSON.parse(JSON.stringify(stage.spec));
          expect(prebuffer(json.options).spec).toEqual(stage.spec);
          const spec = { stages: [{ stage: 'tone', options: { ms: 130 } }, json, { stage: 'collect' }] };
          const fromSpec = await assembleFromSpec<{ pcm: PcmChunk }>(spec, { tone, prebuffer, collect }).run().done;
          const direct = await pipeline(tone({ ms: 130 }), collect()).done;
          expect(fromSpec.value!.pcm).toEqual(direct.value!.pcm);
        },
      ),
      { numRuns: 15 },
    );
  });
});
