import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyPcm, type Format } from '../format.js';
import { assemble, pipeline } from '../index.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { fromBytes } from '../sources/from-bytes.js';
import { tone } from '../sources/tone.js';
import { arbitraryPcm, bytePartitions, joinBytes, pcmPartitions } from '../testing/arbitraries.js';
import { acceptedAfterReads, failureOf, runTransform, testContext } from '../testing/harness.js';
import { pcmDecode } from './pcm-decode.js';
import { pcmEncode } from './pcm-encode.js';
import * as abortKit from '../testing/index.js';

const mono = (samples: number[], sampleRate = 24000): PcmChunk => ({ sampleRate, channels: [Float32Array.from(samples)] });
const s16 = (bytes: Uint8Array) => [...new Int16Array(bytes.slice().buffer)];

describe('pcmEncode', () => {
  it('scales s16 by 32768, clips to [-32768, 32767], rounds to nearest and writes NaN as 0', async () => {
    const input = [0, 0.5, -0.5, 1, -1, 2, -2, 1 / 32768, -3 / 32768, 0.4 / 32768, 0.6 / 32768, 32766.7 / 32768, Number.NaN, Infinity, -Infinity];
    const [bytes] = await runTransform(pcmEncode(), [mono(input)], anyPcm);
    expect(s16(bytes)).toEqual([0, 16384, -16384, 32767, -32768, 32767, -32768, 1, -3, 0, 1, 32767, 0, 32767, -32768]);
  });

  it('property: every float32 (ties, the clips, tiny values, NaN, infinities) becomes what clipping and Math.round give', async () => {
    const reference = (x: number) => {
      const v = Math.fround(x) * 32768;
      return Number.isNaN(v) ? 0 : Math.max(-32768, Math.min(32767, Math.round(v))) | 0;
    };
    const ties = fc.integer({ min: -65540, max: 65540 }).map((n) => n / 65536); // k + 0.5 steps once scaled
    const sample = fc.oneof(fc.float({ noDefaultInfinity: false }), fc.float({ min: Math.fround(-1.01), max: Math.fround(1.01) }), ties);
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { minLength: 1, maxLength: 300 }), async (samples) => {
        const [bytes] = await runTransform(pcmEncode(), [mono(samples)], anyPcm);
        expect(s16(bytes)).toEqual(samples.map(reference));
      }),
      { numRuns: 200 },
    );
  });

  it('property: one, two or three channels of any length (past a SIMD block of 4,096 frames too) become the reference integers, interleaved', async () => {
    const reference = (x: number) => {
      const v = Math.fround(x) * 32768;
      return Number.isNaN(v) ? 0 : Math.max(-32768, Math.min(32767, Math.round(v))) | 0;
    };
    const ties = fc.integer({ min: -65540, max: 65540 }).map((n) => n / 65536);
    const sample = fc.oneof(fc.float({ noDefaultInfinity: false }), fc.float({ min: Math.fround(-1.01), max: Math.fround(1.01) }), ties);
    const length = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 4090, max: 8200 }));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), length, fc.array(sample, { minLength: 1, maxLength: 64 }), fc.nat(), async (count, frames, pool, seed) => {
        // the samples cycle through `pool` from a different point in each channel
        const channels = Array.from({ length: count }, (_, c) => Float32Array.from({ length: frames }, (_, i) => pool[(i * (c + 1) + seed) % pool.length]));
        const [bytes] = await runTransform(pcmEncode(), [{ sampleRate: 24000, channels }], anyPcm);
        const want: number[] = [];
        for (let i = 0; i < frames; i++) for (let c = 0; c < count; c++) want.push(reference(channels[c][i]));
        expect(s16(bytes)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it('interleaves channels, little-endian', async () => {
    const chunk: PcmChunk = { sampleRate: 8000, channels: [Float32Array.of(1 / 32768, 3 / 32768), Float32Array.of(2 / 32768, -1)] };
    const [bytes] = await runTransform(pcmEncode(), [chunk], anyPcm);
    expect([...bytes]).toEqual([1, 0, 2, 0, 3, 0, 0x00, 0x80]);
    const [floats] = await runTransform(pcmEncode({ encoding: 'f32le' }), [chunk], anyPcm);
    const view = new DataView(floats.buffer, floats.byteOffset, floats.byteLength);
    expect([0, 4, 8, 12].map((p) => view.getFloat32(p, true))).toEqual([1 / 32768, 2 / 32768, 3 / 32768, -1]);
  });

  it('gives the same bytes for any split of the audio', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('s16le' as const, 'f32le' as const),
        arbitraryPcm({ maxFrames: 400, maxChannels: 3 }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        async (encoding, [pcm, parts]) => {
          const whole = joinBytes(await runTransform(pcmEncode({ encoding }), [pcm], anyPcm));
          const split = joinBytes(await runTransform(pcmEncode({ encoding }), parts, anyPcm));
          expect(split).toEqual(whole);
          expect(whole.byteLength).toBe(pcm.channels[0].length * pcm.channels.length * (encoding === 's16le' ? 2 : 4));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives back any s16le bytes exactly after pcmDecode, for any split (encode ∘ decode = identity)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.uint8Array({ maxLength: 600 }).chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes))),
        async (channels, [raw, parts]) => {
          const whole = raw.subarray(0, raw.byteLength - (raw.byteLength % (2 * channels)));
          const decoded = await runTransform(pcmDecode({ channels }), parts, { kind: 'bytes' });
          const encoded = joinBytes(await runTransform(pcmEncode(), decoded, anyPcm));
          expect(encoded).toEqual(whole);
        },
      ),
      { numRuns: 150 },
    );
    // Every s16 value, once.
    const all = new Uint8Array(new Int16Array(65536).map((_, i) => i - 32768).buffer);
    const decoded = await runTransform(pcmDecode(), [all], { kind: 'bytes' });
    expect(joinBytes(await runTransform(pcmEncode(), decoded, anyPcm))).toEqual(all);
  });

  it('keeps f32 samples exactly (decode ∘ encode = identity)', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryPcm({ maxFrames: 300, maxChannels: 2 }), async (pcm) => {
        const bytes = await runTransform(pcmEncode({ encoding: 'f32le' }), [pcm], anyPcm);
        const back = await runTransform(pcmDecode({ encoding: 'f32le', channels: pcm.channels.length }), bytes, { kind: 'bytes' });
        expect(concatPcm(back, 24000, pcm.channels.length).channels).toEqual(pcm.channels);
      }),
      { numRuns: 50 },
    );
  });

  it('declares raw PCM bytes in the input format, and round-trips its spec', () => {
    expect(pcmEncode().gives({ kind: 'pcm', sampleRate: 24000, channels: 1 })).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1 });
    expect(pcmEncode({ encoding: 'f32le' }).gives(anyPcm)).toEqual({ kind: 'bytes', container: 'pcm', encoding: 'f32le' });
    const stage = pcmEncode({ encoding: 'f32le' });
    expect(pcmEncode(JSON.parse(JSON.stringify(stage.spec)).options).spec).toEqual(stage.spec);
    expect(pcmEncode().spec).toEqual({ stage: 'pcmEncode', options: { encoding: 's16le' } });
  });

  it('rejects bad options, bytes at assembly, and a chunk that changes channel count or rate with typed errors', async () => {
    expect(() => pcmEncode({ encoding: 's24le' as never })).toThrow(/pcmEncode.*encoding/);
    expect(() => assemble(fromBytes(new Uint8Array(2)), pcmEncode(), collect({ kind: 'bytes' }))).toThrow(/"pcmEncode" takes pcm/);
    const stereo: PcmChunk = { sampleRate: 24000, channels: [new Float32Array(4), new Float32Array(4)] };
    const cases: Array<[PcmChunk[], Format]> = [
      [[mono([0, 0]), stereo], anyPcm],
      [[stereo], { kind: 'pcm', channels: 1 }],
      [[mono([0]), mono([0], 16000)], anyPcm],
      [[{ sampleRate: 24000, channels: [new Float32Array(2), new Float32Array(3)] }], anyPcm],
      [[{ sampleRate: 24000, channels: [[0, 1] as never] }], anyPcm],
      [[{ sampleRate: Number.NaN, channels: [new Float32Array(2)] }], anyPcm],
    ];
    for (const [input, format] of cases) {
      const { error, output } = await failureOf(pcmEncode(), input, format);
      expect(error, JSON.stringify(format)).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('format');
      expect((error as VoxpipeError).stage).toBe('pcmEncode');
      expect(output.length).toBeLessThanOrEqual(1);
    }
  });

  it('buffers nothing behind a stalled reader, and leaves nothing pending when aborted', async () => {
    const chunks = Array.from({ length: 20 }, () => mono(Array(480).fill(0.1)));
    expect(await acceptedAfterReads(pcmEncode(), chunks, anyPcm)).toBeLessThanOrEqual(1);
    expect(await acceptedAfterReads(pcmEncode(), chunks, anyPcm, 1)).toBeLessThanOrEqual(2);
    const ctx = testContext('pcmEncode');
    await acceptedAfterReads(pcmEncode(), chunks, anyPcm, 1, ctx);
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('encodes a tone in a real pipeline', async () => {
    const { value } = await pipeline(tone({ ms: 200, sampleRate: 8000, db: -6 }), pcmEncode(), collect({ kind: 'bytes' })).done;
    expect(value!.format).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 8000, channels: 1 });
    const samples = s16(value!.bytes!);
    expect(samples.length).toBe(1600);
    const peak = Math.round(10 ** (-6 / 20) * 32768);
    expect(Math.max(...samples)).toBeGreaterThan(peak - 300);
    expect(Math.max(...samples)).toBeLessThanOrEqual(peak);
    expect(samples[10]).toBe(Math.round(Math.fround(10 ** (-6 / 20) * Math.sin((2 * Math.PI * 440 * 10) / 8000)) * 32768));
  });
});

describe('pcmEncode: abort at any point', () => {
  const subject = { stage: () => pcmEncode(), chunk: () => ({ sampleRate: 8000, channels: [new Float32Array(64).fill(0.5)] }), format: { kind: 'pcm' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
