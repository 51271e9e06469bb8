import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { assembleFromSpec, coreStages, pipeline } from '../index.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { tone } from '../sources/tone.js';
import { arbitraryPcm, pcmPartitions } from '../testing/arbitraries.js';
import { acceptedAfterReads, failureOf, runTransform, testContext } from '../testing/harness.js';
import { mix } from './mix.js';
import * as abortKit from '../testing/index.js';

const pcmWith = (maxChannels: number) => arbitraryPcm({ maxFrames: 300, maxChannels });
const whole = (chunks: PcmChunk[], rate: number, channels: number) => concatPcm(chunks, rate, channels).channels;

describe('mix', () => {
  it('copies input k mod M when up-mixing and averages inputs j ≡ k (mod N) when down-mixing', async () => {
    await fc.assert(
      fc.asyncProperty(pcmWith(6), fc.integer({ min: 1, max: 6 }), async (pcm, n) => {
        const m = pcm.channels.length;
        const frames = pcm.channels[0].length;
        const out = whole(await runTransform(mix({ channels: n }), [pcm], anyPcm), pcm.sampleRate, n);
        expect(out.length).toBe(n);
        for (let k = 0; k < n; k++) {
          expect(out[k].length).toBe(frames);
          const sources = m <= n ? [k % m] : Array.from({ length: m }, (_, j) => j).filter((j) => j % n === k);
          for (let i = 0; i < frames; i++) {
            const expected = sources.reduce((sum, j) => sum + pcm.channels[j][i], 0) / sources.length;
            expect(Math.abs(out[k][i] - expected)).toBeLessThan(1e-6);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('follows the documented rules for mono and stereo exactly', async () => {
    const stereo: PcmChunk = { sampleRate: 8000, channels: [Float32Array.of(1, 0.5), Float32Array.of(0, -0.5)] };
    const [down] = await runTransform(mix({ channels: 1 }), [stereo], anyPcm);
    expect(down.channels.map((c) => [...c])).toEqual([[0.5, 0]]);
    const [up] = await runTransform(mix({ channels: 4 }), [stereo], anyPcm);
    expect(up.channels.map((c) => [...c])).toEqual([[1, 0.5], [0, -0.5], [1, 0.5], [0, -0.5]]);
    const [copies] = await runTransform(mix({ channels: 3 }), [{ sampleRate: 8000, channels: [Float32Array.of(0.25)] }], anyPcm);
    expect(copies.channels.map((c) => [...c])).toEqual([[0.25], [0.25], [0.25]]);
    // Copies are separate arrays, so a later in-place stage cannot change two channels at once.
    expect(new Set(copies.channels.map((c) => c.buffer)).size).toBe(3);
  });

  it('gives the same audio for any split, conserving every frame in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        pcmWith(4).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fc.integer({ min: 1, max: 4 }),
        async ([pcm, parts], n) => {
          const once = whole(await runTransform(mix({ channels: n }), [pcm], anyPcm), pcm.sampleRate, n);
          const split = await runTransform(mix({ channels: n }), parts, anyPcm);
          expect(split.length).toBe(parts.length);
          expect(whole(split, pcm.sampleRate, n)).toEqual(once);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('mono → N → mono is the identity', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryPcm({ maxFrames: 200, maxChannels: 1 }), fc.constantFrom(2, 4, 8), async (pcm, n) => {
        const up = await runTransform(mix({ channels: n }), [pcm], anyPcm);
        const back = await runTransform(mix({ channels: 1 }), up, anyPcm);
        expect(whole(back, pcm.sampleRate, 1)).toEqual(pcm.channels);
      }),
      { numRuns: 30 },
    );
  });

  it('declares the new channel count, and round-trips its spec through the registry-free JSON form', () => {
    expect(mix({ channels: 2 }).gives({ kind: 'pcm', sampleRate: 24000, channels: 1 })).toEqual({ kind: 'pcm', sampleRate: 24000, channels: 2 });
    expect(mix({ channels: 1 }).gives(anyPcm)).toEqual({ kind: 'pcm', channels: 1 });
    const stage = mix({ channels: 2 });
    expect(mix(JSON.parse(JSON.stringify(stage.spec)).options).spec).toEqual(stage.spec);
  });

  it('rejects bad options and chunks that break the stream’s shape with typed errors', async () => {
    for (const channels of [0, 1.5, Number.NaN, 33]) expect(() => mix({ channels })).toThrow(/Bad options for "mix": channels/);
    expect(() => mix(undefined as never)).toThrow(VoxpipeError);
    const a: PcmChunk = { sampleRate: 8000, channels: [new Float32Array(3)] };
    const b: PcmChunk = { sampleRate: 8000, channels: [new Float32Array(3), new Float32Array(3)] };
    const { error, output } = await failureOf(mix({ channels: 2 }), [a, b], anyPcm);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('format');
    expect((error as VoxpipeError).message).toMatch(/2-channel chunk in a 1-channel stream/);
    expect(output.length).toBe(1);
  });

  it('buffers nothing behind a stalled reader, and leaves nothing pending when aborted', async () => {
    const chunks = Array.from({ length: 20 }, () => ({ sampleRate: 24000, channels: [new Float32Array(480)] }));
    expect(await acceptedAfterReads(mix({ channels: 2 }), chunks, anyPcm)).toBeLessThanOrEqual(1);
    const ctx = testContext('mix');
    expect(await acceptedAfterReads(mix({ channels: 2 }), chunks, anyPcm, 1, ctx)).toBeLessThanOrEqual(2);
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('up-mixes a tone in a real pipeline', async () => {
    const { value } = await pipeline(tone({ ms: 100, sampleRate: 16000 }), mix({ channels: 2 }), collect()).done;
    expect(value!.format).toEqual({ kind: 'pcm', sampleRate: 16000, channels: 2 });
    expect(value!.pcm!.channels[1]).toEqual(value!.pcm!.channels[0]);
    expect(value!.pcm!.channels[0].length).toBe(1600);
    expect(Math.max(...value!.pcm!.channels[0])).toBeGreaterThan(0.2);
    if ('mix' in coreStages) {
      const spec = { stages: [{ stage: 'tone', options: { ms: 50 } }, { stage: 'mix', options: { channels: 2 } }, { stage: 'collect' }] };
      expect(assembleFromSpec(spec, coreStages).formats[1]).toMatchObject({ channels: 2 });
    }
  });
});

describe('mix: abort at any point', () => {
  const subject = { stage: () => mix({ channels: 2 }), chunk: () => ({ sampleRate: 8000, channels: [new Float32Array(64).fill(0.5)] }), format: { kind: 'pcm' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
