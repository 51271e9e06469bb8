import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import type { Format } from '../format.js';
import { assemble, pipeline } from '../index.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { fromBytes } from '../sources/from-bytes.js';
import { tone } from '../sources/tone.js';
import { bytePartitions, cutBytes } from '../testing/arbitraries.js';
import { acceptedAfterReads, failureOf, runTransform, testContext } from '../testing/harness.js';
import { pcmDecode } from './pcm-decode.js';
import { pcmEncode } from './pcm-encode.js';
import * as abortKit from '../testing/index.js';

const bytesIn: Format = { kind: 'bytes' };

/** The same bytes at a byteOffset of `shift` inside a larger buffer, so typed-array alignment cannot be assumed. */
function misalign(piece: Uint8Array, shift: number): Uint8Array {
  const host = new Uint8Array(piece.byteLength + shift + 3);
  host.set(piece, shift);
  return host.subarray(shift, shift + piece.byteLength);
}

/** Decodes whole bytes independently of the stage: aligned typed arrays, whole frames only. */
function reference(bytes: Uint8Array, encoding: 's16le' | 'f32le', channels: number): Float32Array[] {
  const size = encoding === 's16le' ? 2 : 4;
  const frames = Math.floor(bytes.byteLength / (size * channels));
  const aligned = bytes.slice(0, frames * size * channels).buffer;
  const samples = encoding === 's16le' ? new Int16Array(aligned) : new Float32Array(aligned);
  return Array.from({ length: channels }, (_, c) => Float32Array.from({ length: frames }, (_, i) => samples[i * channels + c] / (encoding === 's16le' ? 32768 : 1)));
}

const joined = (chunks: PcmChunk[], rate: number, channels: number) => concatPcm(chunks, rate, channels).channels;

describe('pcmDecode', () => {
  it('gives the same samples for any split of the bytes, at any alignment, carrying partial frames', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('s16le' as const, 'f32le' as const),
        fc.integer({ min: 1, max: 3 }),
        fc.uint8Array({ maxLength: 300 }).chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes), fc.integer({ min: 0, max: 3 }))),
        async (encoding, channels, [bytes, parts, shift]) => {
          const ctx = testContext('pcmDecode');
          const stage = pcmDecode({ encoding, channels, sampleRate: 16000 });
          const out = await runTransform(stage, parts.map((p) => misalign(p, shift)), bytesIn, ctx);
          expect(out.every((c) => c.sampleRate === 16000 && c.channels.length === channels && c.channels[0].length > 0)).toBe(true);
          expect(joined(out, 16000, channels)).toEqual(reference(bytes, encoding, channels));
          const frameBytes = (encoding === 's16le' ? 2 : 4) * channels;
          const truncated = ctx.events.filter((e) => e.type === 'warning' && (e.detail as { code: string }).code === 'truncated');
          expect(truncated.length).toBe(bytes.byteLength % frameBytes === 0 ? 0 : 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('maps s16 to v / 32768 exactly', async () => {
    const bytes = new Uint8Array(new Int16Array([0, 1, -1, 32767, -32768, 16384]).buffer);
    const [chunk] = await runTransform(pcmDecode(), [bytes], bytesIn);
    expect([...chunk.channels[0]]).toEqual([0, 1 / 32768, -1 / 32768, 32767 / 32768, -1, 0.5]);
  });

  it('de-interleaves channels', async () => {
    const bytes = new Uint8Array(new Int16Array([1, 2, 3, 4, 5, 6]).buffer);
    const [chunk] = await runTransform(pcmDecode({ channels: 3 }), [bytes], bytesIn);
    expect(chunk.channels.map((c) => [...c].map((x) => x * 32768))).toEqual([[1, 4], [2, 5], [3, 6]]);
  });

  it('reports a partial frame left at the end as a truncated warning, keeping every whole frame', async () => {
    const ctx = testContext('pcmDecode');
    const out = await runTransform(pcmDecode({ channels: 2 }), [new Uint8Array([1, 0, 2, 0, 3]), new Uint8Array([0, 4])], bytesIn, ctx);
    expect(joined(out, 24000, 2).map((c) => [...c].map((x) => x * 32768))).toEqual([[1], [2]]);
    const warning = ctx.events.find((e) => e.type === 'warning');
    expect(warning?.detail).toMatchObject({ code: 'truncated' });
    expect((warning?.detail as { message: string }).message).toMatch(/3 trailing byte/);
  });

  it('settles the layout from options, then the input format, then the declared format, then s16le 24 kHz mono', async () => {
    const two = new Uint8Array(8);
    const decodeWith = async (stage = pcmDecode(), input: Format = bytesIn, declared?: Format) => {
      const ctx = testContext('pcmDecode', declared);
      const [chunk] = await runTransform(stage, [two], input, ctx);
      return { rate: chunk.sampleRate, channels: chunk.channels.length, frames: chunk.channels[0].length, warnings: ctx.events.filter((e) => e.type === 'warning') };
    };
    expect(await decodeWith()).toMatchObject({ rate: 24000, channels: 1, frames: 4, warnings: [] });
    expect(await decodeWith(undefined, bytesIn, { kind: 'bytes', container: 'pcm', encoding: 'f32le', sampleRate: 16000, channels: 2 })).toMatchObject({ rate: 16000, channels: 2, frames: 1 });
    expect(await decodeWith(undefined, { kind: 'bytes', container: 'pcm', sampleRate: 8000 })).toMatchObject({ rate: 8000, channels: 1, frames: 4 });
    const conflict = await decodeWith(pcmDecode({ sampleRate: 48000 }), bytesIn, { kind: 'bytes', sampleRate: 16000 });
    expect(conflict).toMatchObject({ rate: 48000, frames: 4 });
    expect(conflict.warnings.map((w) => (w.detail as { code: string }).code)).toEqual(['format-conflict']);
  });

  it('declares what it gives before anything flows', () => {
    expect(pcmDecode().gives({ kind: 'bytes' })).toEqual({ kind: 'pcm' });
    expect(pcmDecode().gives({ kind: 'bytes', container: 'pcm', sampleRate: 24000, channels: 1 })).toEqual({ kind: 'pcm', sampleRate: 24000, channels: 1 });
    expect(pcmDecode({ sampleRate: 16000, channels: 2 }).gives({ kind: 'bytes' })).toEqual({ kind: 'pcm', sampleRate: 16000, channels: 2 });
    expect(pcmDecode({ encoding: 'f32le' }).takes).toEqual({ kind: 'bytes', container: 'pcm', encoding: 'f32le' });
  });

  it('round-trips its spec through JSON', () => {
    const stage = pcmDecode({ encoding: 'f32le', sampleRate: 22050, channels: 2 });
    const again = pcmDecode(JSON.parse(JSON.stringify(stage.spec)).options);
    expect(again.spec).toEqual(stage.spec);
    expect(pcmDecode().spec).toEqual({ stage: 'pcmDecode', options: {} });
  });

  it('marks first-audio once, on its first output', async () => {
    const ctx = testContext('pcmDecode');
    await runTransform(pcmDecode(), [new Uint8Array(1), new Uint8Array(1), new Uint8Array(4)], bytesIn, ctx);
    expect(ctx.events.filter((e) => e.type === 'first-audio').length).toBe(1);
    expect(ctx.metrics.firstAudioMs).toBeTypeOf('number');
  });

  it('rejects compressed bytes at assembly, and bad options and non-byte chunks with typed errors', async () => {
    expect(() => assemble(fromBytes(new Uint8Array(4), { format: { kind: 'bytes', container: 'mp3' } }), pcmDecode(), collect())).toThrow(
      '"pcmDecode" takes bytes pcm but "fromBytes" gives bytes mp3',
    );
    expect(() => pcmDecode({ sampleRate: Number.NaN })).toThrow(VoxpipeError);
    expect(() => pcmDecode({ channels: 0 })).toThrow(/pcmDecode.*channels/);
    expect(() => pcmDecode({ encoding: 'u8' as never })).toThrow(/pcmDecode.*encoding/);
    const { error } = await failureOf(pcmDecode(), ['not bytes' as never], bytesIn);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('format');
    const declaredMp3 = await failureOf(pcmDecode(), [new Uint8Array(4)], bytesIn, testContext('pcmDecode', { kind: 'bytes', container: 'mp3' }));
    expect((declaredMp3.error as VoxpipeError).code).toBe('format');
  });

  it('holds at most a partial frame behind a stalled reader', async () => {
    const ones = Array.from({ length: 64 }, () => new Uint8Array(1));
    expect(await acceptedAfterReads(pcmDecode(), ones, bytesIn)).toBeLessThanOrEqual(1);
    // One read waiting: 1-byte chunks are taken until a 4-channel s16 frame (8 bytes) is whole and given, then it pushes back.
    expect(await acceptedAfterReads(pcmDecode({ channels: 4 }), ones, bytesIn, 1)).toBeLessThanOrEqual(8);
  });

  it('decodes what pcmEncode made in a real pipeline, and stops cleanly when aborted', async () => {
    const source = (await pipeline(tone({ ms: 300, sampleRate: 16000, channels: 2 }), collect()).done).value!.pcm!;
    const { value } = await pipeline(tone({ ms: 300, sampleRate: 16000, channels: 2 }), pcmEncode(), pcmDecode(), collect()).done;
    expect(value!.format).toEqual({ kind: 'pcm', sampleRate: 16000, channels: 2 });
    expect(value!.pcm!.channels[1].length).toBe(source.channels[1].length);
    for (let i = 0; i < source.channels[0].length; i++) expect(Math.abs(value!.pcm!.channels[0][i] - source.channels[0][i])).toBeLessThanOrEqual(1 / 65536);

    const bytes = new Uint8Array(48000);
    const run = pipeline(fromBytes(cutBytes(bytes, [1, 3, 7, 1001])), pcmDecode(), collect());
    run.events.on('first-audio', () => run.abort());
    const result = await run.done;
    expect(result.outcome).toBe('aborted');
  });
});

describe('pcmDecode: abort at any point', () => {
  const subject = { stage: () => pcmDecode(), chunk: () => new Uint8Array(63).fill(7), format: { kind: 'bytes' as const, container: 'pcm' as const, encoding: 's16le' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
