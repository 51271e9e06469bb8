import fc from 'fast-check';
import { pcmFrames, sliceMarks, withMarks, type PcmChunk } from '../pcm/pcm.js';

/** Cuts `bytes` at the given points (sorted, deduplicated) into consecutive pieces. */
export function cutBytes(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => Math.max(0, Math.min(bytes.byteLength, p))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.byteLength]) {
    if (cut > start) out.push(bytes.slice(start, cut));
    start = Math.max(start, cut);
  }
  return out;
}

/**
 * Any partition of `bytes` into chunks: random cut points, plus the two
 * extremes every stage must survive — 1-byte chunks and one whole chunk.
 */
export function bytePartitions(bytes: Uint8Array): fc.Arbitrary<Uint8Array[]> {
  const n = bytes.byteLength;
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.integer({ min: 0, max: n }), { maxLength: Math.min(64, n + 1) }).map((points) => cutBytes(bytes, points)) },
    { weight: 1, arbitrary: fc.constant(cutBytes(bytes, Array.from({ length: n }, (_, i) => i))) },
    { weight: 1, arbitrary: fc.constant<Uint8Array[]>(n === 0 ? [] : [bytes.slice()]) },
  );
}

/** Cuts PCM at the given frame positions into consecutive chunks; each word mark goes with its sample. */
export function cutPcm(pcm: PcmChunk, points: readonly number[]): PcmChunk[] {
  const n = pcmFrames(pcm);
  const cuts = [...new Set(points.map((p) => Math.max(0, Math.min(n, p))))].sort((a, b) => a - b);
  const out: PcmChunk[] = [];
  let start = 0;
  for (const cut of [...cuts, n]) {
    if (cut > start) out.push(withMarks({ sampleRate: pcm.sampleRate, channels: pcm.channels.map((c) => c.slice(start, cut)) }, sliceMarks(pcm.marks, start, cut)));
    start = Math.max(start, cut);
  }
  return out;
}

/** Any partition of `pcm` into chunks, single frames and the whole included. */
export function pcmPartitions(pcm: PcmChunk): fc.Arbitrary<PcmChunk[]> {
  const n = pcmFrames(pcm);
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.integer({ min: 0, max: n }), { maxLength: Math.min(48, n + 1) }).map((points) => cutPcm(pcm, points)) },
    { weight: 1, arbitrary: fc.constant(cutPcm(pcm, Array.from({ length: Math.min(n, 4096) }, (_, i) => i))) },
    { weight: 1, arbitrary: fc.constant(cutPcm(pcm, [])) },
  );
}

/** Random PCM: a rate, 1–`maxChannels` channels, up to `maxFrames` samples in [-1, 1]. */
export function arbitraryPcm(options: { maxFrames?: number; maxChannels?: number; sampleRates?: number[] } = {}): fc.Arbitrary<PcmChunk> {
  const rates = options.sampleRates ?? [8000, 16000, 22050, 24000, 44100, 48000];
  return fc
    .record({
      sampleRate: fc.constantFrom(...rates),
      channelCount: fc.integer({ min: 1, max: options.maxChannels ?? 2 }),
      frames: fc.integer({ min: 0, max: options.maxFrames ?? 2000 }),
      seed: fc.integer(),
    })
    .map(({ sampleRate, channelCount, frames, seed }) => {
      let state = seed | 0 || 1;
      const next = () => {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        return (state >>> 0) / 0xffffffff;
      };
      const channels = Array.from({ length: channelCount }, () => {
        const samples = new Float32Array(frames);
        for (let i = 0; i < frames; i++) samples[i] = next() * 2 - 1;
        return samples;
      });
      return { sampleRate, channels };
    });
}

/** `n` bytes that look random but are the same for the same seed (a linear congruential generator). */
export function seededBytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Joins byte chunks. */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
