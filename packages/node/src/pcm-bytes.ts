import { VoxpipeError, type PcmChunk, type SampleEncoding } from '@voxpipe/core';

/** Bytes per sample of each encoding the Node sinks write. */
export const SAMPLE_BYTES: Record<SampleEncoding, number> = { s16le: 2, f32le: 4 };

/** True where typed arrays are little-endian (every platform Node runs on today), so samples can be stored directly. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Interleaves planar float PCM into little-endian bytes. s16 samples are
 * clipped to [-1, 1) and rounded (v × 32768, the inverse of `pcmDecode`);
 * f32 samples are written as they are. Internal to the Node sinks; core's
 * `pcmEncode` stage does the same inside a pipeline.
 */
export function interleave(chunk: PcmChunk, encoding: SampleEncoding = 's16le'): Uint8Array {
  const channels = chunk.channels;
  const count = channels.length;
  const frames = count === 0 ? 0 : channels[0].length;
  if (!LITTLE_ENDIAN) return interleaveByView(channels, count, frames, encoding);
  if (encoding === 's16le') {
    const out = new Int16Array(frames * count);
    for (let c = 0; c < count; c++) {
      const samples = channels[c];
      for (let i = 0, p = c; i < frames; i++, p += count) {
        const v = Math.round(samples[i] * 32768);
        out[p] = v > 32767 ? 32767 : v < -32768 ? -32768 : v; // NaN stores as 0
      }
    }
    return new Uint8Array(out.buffer);
  }
  const out = new Float32Array(frames * count);
  if (count === 1) out.set(channels[0]);
  else for (let c = 0; c < count; c++) for (let i = 0, p = c, samples = channels[c]; i < frames; i++, p += count) out[p] = samples[i];
  return new Uint8Array(out.buffer);
}

/** The same bytes, written one by one through a DataView (big-endian hosts). */
function interleaveByView(channels: readonly Float32Array[], count: number, frames: number, encoding: SampleEncoding): Uint8Array {
  const out = new Uint8Array(frames * count * SAMPLE_BYTES[encoding]);
  const view = new DataView(out.buffer);
  let p = 0;
  if (encoding === 's16le') {
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < count; c++, p += 2) {
        const v = Math.round(channels[c][i] * 32768);
        view.setInt16(p, v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0, true);
      }
    }
  } else {
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < count; c++, p += 4) view.setFloat32(p, channels[c][i], true);
    }
  }
  return out;
}

/**
 * Remembers the rate and channel count of the first chunk and throws a
 * `format` error when a later one differs (a file or player cannot change
 * format mid-stream).
 */
export function layoutGuard(stage: string): (chunk: PcmChunk) => { sampleRate: number; channels: number } {
  let layout: { sampleRate: number; channels: number } | undefined;
  return (chunk) => {
    if (!chunk || typeof chunk.sampleRate !== 'number' || !Array.isArray(chunk.channels)) {
      throw new VoxpipeError('format', `"${stage}" takes PCM chunks ({ sampleRate, channels })`, { stage });
    }
    if (!layout) {
      if (chunk.channels.length === 0) throw new VoxpipeError('format', `"${stage}" got a PCM chunk with no channels`, { stage });
      layout = { sampleRate: chunk.sampleRate, channels: chunk.channels.length };
    } else if (chunk.sampleRate !== layout.sampleRate || chunk.channels.length !== layout.channels) {
      throw new VoxpipeError(
        'format',
        `"${stage}" started at ${layout.sampleRate} Hz × ${layout.channels} ch and cannot switch to ${chunk.sampleRate} Hz × ${chunk.channels.length} ch mid-stream (add resample())`,
        { stage },
      );
    }
    return layout;
  };
}
