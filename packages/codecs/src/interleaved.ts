import type { PcmChunk } from '@voxpipe/core';
import { alawTable, mulawTable } from './g711.js';

/** Sample layouts of interleaved PCM bytes that voxpipe can read. */
export type InterleavedEncoding = 'u8' | 's16le' | 's24le' | 's32le' | 'f32le' | 'f64le' | 'mulaw' | 'alaw';

/** Bytes per sample of each layout. */
export const BYTES_PER_SAMPLE: Record<InterleavedEncoding, number> = {
  u8: 1,
  s16le: 2,
  s24le: 3,
  s32le: 4,
  f32le: 4,
  f64le: 8,
  mulaw: 1,
  alaw: 1,
};

/**
 * Turns interleaved sample bytes into planar float PCM, whatever the chunking:
 * bytes of a sample frame cut by a chunk boundary are kept until the rest arrives.
 * Internal to the codecs (WAV, raw PCM, G.711).
 */
export class InterleavedReader {
  readonly frameBytes: number;
  #carry: Uint8Array;
  #carried = 0;

  constructor(
    readonly encoding: InterleavedEncoding,
    readonly channels: number,
    readonly sampleRate: number,
  ) {
    this.frameBytes = BYTES_PER_SAMPLE[encoding] * channels;
    this.#carry = new Uint8Array(this.frameBytes);
  }

  /** Bytes of an unfinished sample frame held back. */
  get pending(): number {
    return this.#carried;
  }

  /** Converts every whole frame available; returns undefined when no whole frame is there yet. */
  push(bytes: Uint8Array): PcmChunk | undefined {
    const frameBytes = this.frameBytes;
    let input = bytes;
    if (this.#carried > 0) {
      const joined = new Uint8Array(this.#carried + bytes.byteLength);
      joined.set(this.#carry.subarray(0, this.#carried));
      joined.set(bytes, this.#carried);
      input = joined;
      this.#carried = 0;
    }
    const frames = Math.floor(input.byteLength / frameBytes);
    const used = frames * frameBytes;
    if (used < input.byteLength) {
      this.#carry.set(input.subarray(used));
      this.#carried = input.byteLength - used;
    }
    if (frames === 0) return undefined;
    return { sampleRate: this.sampleRate, channels: deinterleave(input.subarray(0, used), this.encoding, this.channels, frames) };
  }
}

function deinterleave(bytes: Uint8Array, encoding: InterleavedEncoding, channelCount: number, frames: number): Float32Array[] {
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = BYTES_PER_SAMPLE[encoding];
  for (let c = 0; c < channelCount; c++) {
    const out = channels[c];
    let p = c * size;
    const step = channelCount * size;
    switch (encoding) {
      case 'u8':
        for (let i = 0; i < frames; i++, p += step) out[i] = (bytes[p] - 128) / 128;
        break;
      case 's16le':
        for (let i = 0; i < frames; i++, p += step) out[i] = view.getInt16(p, true) / 32768;
        break;
      case 's24le':
        for (let i = 0; i < frames; i++, p += step) out[i] = (((bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16)) << 8) >> 8) / 8388608;
        break;
      case 's32le':
        for (let i = 0; i < frames; i++, p += step) out[i] = view.getInt32(p, true) / 2147483648;
        break;
      case 'f32le':
        for (let i = 0; i < frames; i++, p += step) out[i] = view.getFloat32(p, true);
        break;
      case 'f64le':
        for (let i = 0; i < frames; i++, p += step) out[i] = view.getFloat64(p, true);
        break;
      case 'mulaw':
        for (let i = 0; i < frames; i++, p += step) out[i] = mulawTable[bytes[p]] / 32768;
        break;
      case 'alaw':
        for (let i = 0; i < frames; i++, p += step) out[i] = alawTable[bytes[p]] / 32768;
        break;
    }
  }
  return channels;
}

/** A float sample → 16-bit integer: ×32768, rounded, clipped (exact inverse of reading s16 as v / 32768). NaN → 0. */
export function floatToInt16(x: number): number {
  const v = Math.round(x * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
}
