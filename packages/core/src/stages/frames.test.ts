import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { pipeline } from '../index.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { tone } from '../sources/tone.js';
import { arbitraryPcm, pcmPartitions } from '../testing/arbitraries.js';
import { acceptedAfterReads, failureOf, runTransform, testContext } from '../testing/harness.js';
import { frames } from './frames.js';
import * as abortKit from '../testing/index.js';

const lengths = (chunks: PcmChunk[]) => chunks.map((c) => c.channels[0].length);

describe('frames', () => {
  it('gives the same frames for any split: full frames, then a shorter tail, every sample in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 600, maxChannels: 2 }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fc.integer({ min: 1, max: 200 }),
        async ([pcm, parts], size) => {
          const n = pcm.channels[0].length;
          const out = await runTransform(frames({ samples: size }), parts, anyPcm);
          const expected = Array.from({ length: Math.ceil(n / size) }, (_, i) => Math.min(size, n - i * size));
          expect(lengths(out)).toEqual(expected);
          expect(out.every((c) => c.sampleRate === pcm.sampleRate && c.channels.length === pcm.channels.length)).toBe(true);
          expect(concatPcm(out, pcm.sampleRate, pcm.channels.length).channels).toEqual(pcm.channels);
          const once = await runTransform(frames({ samples: size }), [pcm], anyPcm);
          expect(out).toEqual(once);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('pads the tail with silence to a full frame when asked', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 500, maxChannels: 2 }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fc.integer({ min: 1, max: 120 }),
        async ([pcm, parts], size) => {
          const n = pcm.channels[0].length;
          const out = await runTransform(frames({ samples: size, pad: true }), parts, anyPcm);
          expect(out.every((c) => c.channels[0].length === size)).toBe(true);
          expect(out.length).toBe(Math.ceil(n / size));
          const joined = concatPcm(out, pcm.sampleRate, pcm.channels.length).channels;
          joined.forEach((c, i) => {
            expect(c.subarray(0, n)).toEqual(pcm.channels[i]);
            expect(c.subarray(n).every((x) => x === 0)).toBe(true);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sizes ms frames at the rate of the first chunk when the format does not say', async () => {
    const at = (sampleRate: number, n: number): PcmChunk => ({ sampleRate, channels: [new Float32Array(n)] });
    expect(lengths(await runTransform(frames({ ms: 20 }), [at(16000, 1000)], anyPcm))).toEqual([320, 320, 320, 40]);
    expect(lengths(await runTransform(frames({ ms: 10 }), [at(44100, 500)], anyPcm))).toEqual([441, 59]);
    expect(lengths(await runTransform(frames({ ms: 0.001 }), [at(8000, 2)], anyPcm))).toEqual([1, 1]);
    expect(await runTransform(frames({ ms: 20 }), [], anyPcm)).toEqual([]);
  });

  it('gives 20 ms frames of a tone in a real pipeline, whatever the source chunking', async () => {
    const { value } = await pipeline(tone({ ms: 1010, chunkMs: 7 }), frames({ ms: 20 }), collect()).done;
    expect(lengths(value!.chunks as PcmChunk[])).toEqual([...Array(50).fill(480), 240]);
    const plain = (await pipeline(tone({ ms: 1010 }), collect()).done).value!.pcm!;
    expect(value!.pcm!.channels).toEqual(plain.channels);
  });

  it('keeps its format, and round-trips its spec', () => {
    const format = { kind: 'pcm' as const, sampleRate: 24000, channels: 2 };
    expect(frames({ ms: 20 }).gives(format)).toEqual(format);
    for (const stage of [frames({ ms: 20 }), frames({ samples: 160, pad: true })]) {
      expect(frames(JSON.parse(JSON.stringify(stage.spec)).options).spec).toEqual(stage.spec);
    }
  });

  it('rejects bad options and a chunk that changes rate or channels with typed errors', async () => {
    expect(() => frames({} as never)).toThrow(/frames.*exactly one of "ms" or "samples"/);
    expect(() => frames({ ms: 20, samples: 480 })).toThrow(/exactly one/);
    expect(() => frames({ ms: Number.NaN })).toThrow(/frames.*ms/);
    expect(() => frames({ ms: 0 })).toThrow(/frames.*ms/);
    expect(() => frames({ samples: 2.5 })).toThrow(/frames.*samples/);
    const a: PcmChunk = { sampleRate: 16000, channels: [new Float32Array(100)] };
    for (const b of [{ sampleRate: 8000, channels: [new Float32Array(100)] }, { sampleRate: 16000, channels: [new Float32Array(1), new Float32Array(1)] }]) {
      const { error } = await failureOf(frames({ samples: 64 }), [a, b], anyPcm);
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('format');
    }
  });

  it('holds back less than a frame behind a stalled reader, and leaves nothing pending when aborted', async () => {
    const single = Array.from({ length: 200 }, () => ({ sampleRate: 8000, channels: [new Float32Array(1)] }));
    expect(await acceptedAfterReads(frames({ samples: 50 }), single, anyPcm)).toBeLessThanOrEqual(1);
    // One read waiting: one-sample chunks are taken until a 50-sample frame is whole and given.
    const ctx = testContext('frames');
    expect(await acceptedAfterReads(frames({ samples: 50 }), single, anyPcm, 1, ctx)).toBeLessThanOrEqual(51);
    expect(ctx.pendingCleanups()).toBe(0);
  });
});

describe('frames: abort at any point', () => {
  const subject = { stage: () => frames({ samples: 50 }), chunk: () => ({ sampleRate: 8000, channels: [new Float32Array(64).fill(0.5)] }), format: { kind: 'pcm' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
