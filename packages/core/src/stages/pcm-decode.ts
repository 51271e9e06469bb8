import * as v from 'valibot';
import { VoxpipeError } from '../errors.js';
import { describeFormat, type Format, type SampleEncoding } from '../format.js';
import { channelsSchema, parseOptions, sampleRateSchema } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { markWords } from '../pcm/word-timestamps.js';
import type { StageContext } from '../stage.js';
import { transformStage, type TransformStage } from '../stage.js';

const schema = v.strictObject({
  /** How each sample is stored; default: the source's declared encoding, else `s16le`. */
  encoding: v.optional(v.picklist(['s16le', 'f32le'])),
  /** Default: the input format's, else the source's declared rate, else 24000. */
  sampleRate: v.optional(sampleRateSchema),
  /** Interleaved channels; default: the input format's, else declared, else 1. */
  channels: v.optional(channelsSchema),
});

export type PcmDecodeOptions = v.InferInput<typeof schema>;

const DEFAULTS = { encoding: 's16le' as SampleEncoding, sampleRate: 24000, channels: 1 };
const BYTES: Record<SampleEncoding, number> = { s16le: 2, f32le: 4 };

/**
 * Turns raw little-endian interleaved PCM bytes (a `/v1/tts/stream` PCM
 * response, a `.pcm` file) into planar float32 chunks. Use it wherever raw
 * PCM bytes enter a pipeline. Chunks may split samples and frames anywhere:
 * the partial frame is carried to the next chunk, and one left over at the
 * end is reported as a `truncated` warning. s16 samples map to v / 32768.
 * Fields the options leave out come from the input format, then from the
 * format the source declared at run time, then default to s16le 24 kHz mono.
 * Words the source learned (`ttsSource({ timestamps: true })`) come out as
 * marks on their first samples, as with `decode()`.
 *
 * ```ts
 * pipeline(ttsSource({ baseUrl, text, model: 'aura-lite' }), pcmDecode({ sampleRate: 24000 }), speaker());
 * ```
 */
export function pcmDecode(options: PcmDecodeOptions = {}): TransformStage<Uint8Array, PcmChunk> {
  const o = parseOptions('pcmDecode', schema, options);
  return transformStage<Uint8Array, PcmChunk>({
    name: 'pcmDecode',
    takes: known({ kind: 'bytes', container: 'pcm', encoding: o.encoding, sampleRate: o.sampleRate, channels: o.channels }),
    gives: (input) => known({ kind: 'pcm', sampleRate: o.sampleRate ?? input.sampleRate, channels: o.channels ?? input.channels }),
    spec: { stage: 'pcmDecode', options: { ...o } },
    synchronous: true,
    transformer: (ctx, input) => {
      let layout: Layout | undefined;
      let carry = new Uint8Array(0);
      let carried = 0;
      /** Frames given so far: where the next chunk starts, for the run's word timings. */
      let position = 0;
      return {
        transform(chunk, controller) {
          if (!ArrayBuffer.isView(chunk)) throw new VoxpipeError('format', '"pcmDecode" takes Uint8Array chunks', { stage: 'pcmDecode' });
          const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          if (!layout) {
            layout = resolveLayout(ctx, o, input);
            carry = new Uint8Array(layout.frameBytes);
          }
          const { frameBytes, channels } = layout;
          const frames = Math.floor((carried + bytes.byteLength) / frameBytes);
          if (frames === 0) {
            carry.set(bytes, carried);
            carried += bytes.byteLength;
            return;
          }
          const out = Array.from({ length: channels }, () => new Float32Array(frames));
          let offset = 0;
          let done = 0;
          if (carried > 0) {
            offset = frameBytes - carried;
            carry.set(bytes.subarray(0, offset), carried);
            decodeFrames(layout, new DataView(carry.buffer), 0, 1, out, 0);
            done = 1;
          }
          decodeFrames(layout, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset, frames - done, out, done);
          offset += (frames - done) * frameBytes;
          carried = bytes.byteLength - offset;
          carry.set(bytes.subarray(offset), 0);
          ctx.mark('first-audio');
          controller.enqueue(markWords(ctx, { sampleRate: layout.sampleRate, channels: out }, position));
          position += frames;
        },
        flush() {
          if (layout && carried > 0) {
            ctx.emit('warning', {
              code: 'truncated',
              message: `The stream ended inside a frame: ${carried} trailing byte(s) of a ${layout.frameBytes}-byte ${layout.encoding} frame were dropped`,
            });
          }
        },
      };
    },
  });
}

interface Layout {
  encoding: SampleEncoding;
  sampleRate: number;
  channels: number;
  frameBytes: number;
}

/** Settles the byte layout at the first chunk, when the source has declared what it learned. */
function resolveLayout(ctx: StageContext, o: v.InferOutput<typeof schema>, input: Format): Layout {
  const promised = { encoding: o.encoding ?? input.encoding, sampleRate: o.sampleRate ?? input.sampleRate, channels: o.channels ?? input.channels };
  const declared = ctx.declared?.kind === 'bytes' ? ctx.declared : undefined;
  if (declared?.container && declared.container !== 'pcm') {
    throw new VoxpipeError('format', `"pcmDecode" takes raw PCM bytes but the source declared ${describeFormat(declared)}`, { stage: 'pcmDecode' });
  }
  const pick = <K extends keyof typeof promised>(field: K): NonNullable<(typeof promised)[K]> => {
    const mine = promised[field];
    const theirs = declared?.[field] as (typeof promised)[K] | undefined;
    if (mine !== undefined && theirs !== undefined && mine !== theirs) {
      ctx.emit('warning', { code: 'format-conflict', message: `The source declared ${field} ${String(theirs)}; pcmDecode keeps ${String(mine)}` });
    }
    return (mine ?? theirs ?? DEFAULTS[field]) as NonNullable<(typeof promised)[K]>;
  };
  const encoding = pick('encoding');
  const channels = pick('channels');
  return { encoding, sampleRate: pick('sampleRate'), channels, frameBytes: BYTES[encoding] * channels };
}

function decodeFrames(layout: Layout, view: DataView, byteOffset: number, frames: number, out: Float32Array[], outOffset: number): void {
  const channels = layout.channels;
  let p = byteOffset;
  if (layout.encoding === 's16le') {
    for (let i = outOffset; i < outOffset + frames; i++) {
      for (let c = 0; c < channels; c++, p += 2) out[c][i] = view.getInt16(p, true) / 32768;
    }
  } else {
    for (let i = outOffset; i < outOffset + frames; i++) {
      for (let c = 0; c < channels; c++, p += 4) out[c][i] = view.getFloat32(p, true);
    }
  }
}

/** The format with its unknown fields left out. */
function known(format: Format): Format {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(format)) if (value !== undefined) out[key] = value;
  return out as unknown as Format;
}
