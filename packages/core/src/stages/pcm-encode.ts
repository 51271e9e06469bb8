import * as v from 'valibot';
import { anyPcm, type Format, type SampleEncoding } from '../format.js';
import { parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { transformStage, type TransformStage } from '../stage.js';
import { pcmChecker } from '../pcm/pcm-check.js';
import { slabBytes } from '../pcm/byte-slab.js';
import { S16_BLOCK, s16Kernel } from '../dsp/s16-kernel.js';

const schema = v.strictObject({
  /** How each sample is stored: 16-bit integers (default) or 32-bit floats, little-endian. */
  encoding: v.optional(v.picklist(['s16le', 'f32le']), 's16le'),
});

export type PcmEncodeOptions = v.InferInput<typeof schema>;

const BYTES: Record<SampleEncoding, number> = { s16le: 2, f32le: 4 };

/**
 * Turns planar float32 PCM into raw little-endian interleaved bytes — the
 * `/v1/tts/stream` PCM response body, a `.pcm` file, a sound card's input.
 * s16 uses the 32768 scale (the inverse of `pcmDecode`, as ffmpeg and
 * libsndfile do): x is clipped to [-1, 1], multiplied by 32768, rounded to
 * the nearest integer (ties upwards) and clipped to 32767, so +1.0 becomes
 * 32767, −1.0 becomes −32768 and `pcmEncode(pcmDecode(b))` gives back any
 * s16le bytes exactly. NaN becomes 0. f32 keeps samples as they are.
 * Word marks are dropped: bytes carry none (read them before this stage).
 * Its byte chunks are views into buffers shared with other chunks (as
 * Node's Buffer pool): `slice()` one before transferring its buffer.
 *
 * ```ts
 * pipeline(tone({ ms: 500 }), pcmEncode({ encoding: 's16le' }), stdout());
 * ```
 */
export function pcmEncode(options: PcmEncodeOptions = {}): TransformStage<PcmChunk, Uint8Array> {
  const { encoding } = parseOptions('pcmEncode', schema, options);
  return transformStage<PcmChunk, Uint8Array>({
    name: 'pcmEncode',
    takes: anyPcm,
    gives: (input) => {
      const out: Format = { kind: 'bytes', container: 'pcm', encoding };
      if (input.sampleRate !== undefined) out.sampleRate = input.sampleRate;
      if (input.channels !== undefined) out.channels = input.channels;
      return out;
    },
    spec: { stage: 'pcmEncode', options: { encoding } },
    synchronous: true,
    syncInput: 'read',
    transformer: (_ctx, input) => {
      const check = pcmChecker('pcmEncode', input);
      return {
        transform(chunk, controller) {
          const { channelCount, frames } = check(chunk);
          if (frames === 0) return;
          const bytes = slabBytes(frames * channelCount * BYTES[encoding]);
          if (encoding === 's16le') encodeS16(chunk.channels, frames, bytes);
          else encodeF32(chunk.channels, frames, bytes);
          controller.enqueue(bytes);
        },
      };
    },
  });
}

/** True where typed arrays are little-endian (every mainstream CPU): then samples are written with Int16Array/Float32Array, else DataView. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * float → s16: scale by 32768, round to nearest (ties up), clip to [−32768, 32767].
 * Rounds as `Math.round` does, three to four times faster: between the clips
 * v + 32768.5 is positive, so `| 0` floors it, and the sum is exact (v is a
 * float32 times 2^15, the sum stays below 2^16 with 36 fraction bits to
 * spare). The in-range test comes second, so a sample in range (nearly all)
 * costs two comparisons; NaN fails all three and becomes 0.
 */
function toS16(x: number): number {
  const v = x * 32768;
  return v >= 32767 ? 32767 : v > -32768 ? ((v + 32768.5) | 0) - 32768 : v <= -32768 ? -32768 : 0;
}

function encodeS16(channels: readonly Float32Array[], frames: number, bytes: Uint8Array): void {
  const count = channels.length;
  const kernel = LITTLE_ENDIAN && count <= 2 ? s16Kernel() : undefined;
  if (kernel) {
    // WebAssembly SIMD, block by block: copy in, convert eight at a time, copy out (the same integers as toS16)
    for (let at = 0; at < frames; at += S16_BLOCK) {
      const n = Math.min(S16_BLOCK, frames - at);
      for (let c = 0; c < count; c++) kernel.input[c].set(n === frames ? channels[c] : channels[c].subarray(at, at + n));
      kernel.convert(count as 1 | 2, n);
      bytes.set(kernel.output.subarray(0, 2 * n * count), 2 * at * count);
    }
    return;
  }
  if (LITTLE_ENDIAN) {
    const out = new Int16Array(bytes.buffer, bytes.byteOffset, frames * count);
    if (count === 1) {
      const mono = channels[0];
      for (let i = 0; i < frames; i++) out[i] = toS16(mono[i]);
      return;
    }
    if (count === 2) {
      // frame by frame: the output is written in order, both channels per step
      const left = channels[0];
      const right = channels[1];
      for (let i = 0, p = 0; i < frames; i++, p += 2) {
        out[p] = toS16(left[i]);
        out[p + 1] = toS16(right[i]);
      }
      return;
    }
    for (let c = 0; c < count; c++) {
      const samples = channels[c];
      for (let i = 0, p = c; i < frames; i++, p += count) out[p] = toS16(samples[i]);
    }
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, p = 0; i < frames; i++) {
    for (let c = 0; c < count; c++, p += 2) view.setInt16(p, toS16(channels[c][i]), true);
  }
}

function encodeF32(channels: readonly Float32Array[], frames: number, bytes: Uint8Array): void {
  const count = channels.length;
  if (LITTLE_ENDIAN) {
    const out = new Float32Array(bytes.buffer, bytes.byteOffset, frames * count);
    for (let c = 0; c < count; c++) {
      const samples = channels[c];
      for (let i = 0, p = c; i < frames; i++, p += count) out[p] = samples[i];
    }
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, p = 0; i < frames; i++) {
    for (let c = 0; c < count; c++, p += 4) view.setFloat32(p, channels[c][i], true);
  }
}
