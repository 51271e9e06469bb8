import * as v from 'valibot';
import { anyPcm, type Format, type SampleEncoding } from '../format.js';
import { parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm.js';
import { transformStage, type TransformStage } from '../stage.js';
import { pcmChecker } from './pcm-check.js';

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
    transformer: (_ctx, input) => {
      const check = pcmChecker('pcmEncode', input);
      return {
        transform(chunk, controller) {
          const { channelCount, frames } = check(chunk);
          if (frames === 0) return;
          const bytes = new Uint8Array(frames * channelCount * BYTES[encoding]);
          const view = new DataView(bytes.buffer);
          if (encoding === 's16le') encodeS16(chunk.channels, frames, view);
          else encodeF32(chunk.channels, frames, view);
          controller.enqueue(bytes);
        },
      };
    },
  });
}

function encodeS16(channels: readonly Float32Array[], frames: number, view: DataView): void {
  const count = channels.length;
  let p = 0;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++, p += 2) {
      const x = channels[c][i];
      // Written so NaN fails both comparisons and lands on 0.
      const s = x >= 1 ? 32767 : x <= -1 ? -32768 : x === x ? Math.min(32767, Math.round(x * 32768)) : 0;
      view.setInt16(p, s, true);
    }
  }
}

function encodeF32(channels: readonly Float32Array[], frames: number, view: DataView): void {
  const count = channels.length;
  let p = 0;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++, p += 4) view.setFloat32(p, channels[c][i], true);
  }
}
