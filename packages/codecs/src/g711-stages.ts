import { anyPcm, markWords, parseOptions, pcmFrames, transformStage, type PcmChunk, type TransformStage } from '@voxpipe/core';
import * as v from 'valibot';
import { linearToAlaw, linearToMulaw } from './g711.js';
import { InterleavedReader, floatToInt16 } from './interleaved.js';

type Law = 'mulaw' | 'alaw';

const encodeSchema = v.strictObject({});
const decodeSchema = v.strictObject({
  /** Used when the input format does not say; telephony's 8000 Hz by default. */
  sampleRate: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1000), v.maxValue(384000))),
  /** Used when the input format does not say; 1 by default. Channels are interleaved. */
  channels: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32))),
});

export type G711DecodeOptions = v.InferInput<typeof decodeSchema>;

function g711Encode(law: Law, name: string, options: unknown): TransformStage<PcmChunk, Uint8Array> {
  parseOptions(name, encodeSchema, options);
  const toCode = law === 'mulaw' ? linearToMulaw : linearToAlaw;
  return transformStage<PcmChunk, Uint8Array>({
    name,
    takes: anyPcm,
    gives: (input) => ({ kind: 'bytes', container: law, sampleRate: input.sampleRate, channels: input.channels }),
    spec: { stage: name, options: {} },
    synchronous: true,
    transformer: () => ({
      transform(chunk, controller) {
        const frames = pcmFrames(chunk);
        const count = chunk.channels.length;
        if (frames === 0 || count === 0) return;
        const out = new Uint8Array(frames * count);
        for (let c = 0; c < count; c++) {
          const samples = chunk.channels[c];
          for (let i = 0, j = c; i < frames; i++, j += count) out[j] = toCode(floatToInt16(samples[i]));
        }
        controller.enqueue(out);
      },
    }),
  });
}

function g711Decode(law: Law, name: string, options: unknown): TransformStage<Uint8Array, PcmChunk> {
  const parsed = parseOptions(name, decodeSchema, options);
  return transformStage<Uint8Array, PcmChunk>({
    name,
    takes: { kind: 'bytes', container: law },
    gives: (input) => ({ kind: 'pcm', sampleRate: input.sampleRate ?? parsed.sampleRate ?? 8000, channels: input.channels ?? parsed.channels ?? 1 }),
    spec: { stage: name, options: { ...parsed } },
    synchronous: true,
    transformer: (ctx, input) => {
      const reader = new InterleavedReader(law, input.channels ?? parsed.channels ?? 1, input.sampleRate ?? parsed.sampleRate ?? 8000);
      /** Frames given so far: where the next chunk starts, for the run's word timings. */
      let position = 0;
      return {
        transform(bytes, controller) {
          const chunk = reader.push(bytes);
          if (!chunk) return;
          ctx.mark('first-audio');
          controller.enqueue(markWords(ctx, chunk, position));
          position += pcmFrames(chunk);
        },
        flush() {
          if (reader.pending > 0) ctx.emit('warning', { code: 'decode', message: `${name}: dropped ${reader.pending} trailing bytes of an unfinished sample frame` });
        },
      };
    },
  });
}

/**
 * Encodes PCM as G.711 µ-law bytes (one byte per sample, channels
 * interleaved) — for telephony (Twilio media streams, SIP). Resample to
 * 8000 Hz first if the far end expects it. Word marks are dropped (bytes
 * carry none).
 *
 * ```ts
 * pipeline(source, decode(), resample({ rate: 8000 }), mulawEncode(), websocketSink(ws));
 * ```
 */
export function mulawEncode(options: Record<string, never> = {}): TransformStage<PcmChunk, Uint8Array> {
  return g711Encode('mulaw', 'mulawEncode', options);
}

/**
 * Decodes G.711 µ-law bytes to PCM (8000 Hz mono unless the input format or
 * the options say otherwise). `decode()` does the same for a declared
 * `mulaw` container; use this when nothing declares it. Words the source
 * learned come out as marks, as with `decode()`.
 *
 * ```ts
 * pipeline(websocketSource(ws), mulawDecode({ sampleRate: 8000 }), speaker());
 * ```
 */
export function mulawDecode(options: G711DecodeOptions = {}): TransformStage<Uint8Array, PcmChunk> {
  return g711Decode('mulaw', 'mulawDecode', options);
}

/**
 * Encodes PCM as G.711 A-law bytes (one byte per sample, channels
 * interleaved) — European telephony's law. Word marks are dropped.
 *
 * ```ts
 * pipeline(source, decode(), resample({ rate: 8000 }), alawEncode(), sipSink(call));
 * ```
 */
export function alawEncode(options: Record<string, never> = {}): TransformStage<PcmChunk, Uint8Array> {
  return g711Encode('alaw', 'alawEncode', options);
}

/**
 * Decodes G.711 A-law bytes to PCM (8000 Hz mono unless the input format or
 * the options say otherwise).
 *
 * ```ts
 * pipeline(sipSource(call), alawDecode(), speaker());
 * ```
 */
export function alawDecode(options: G711DecodeOptions = {}): TransformStage<Uint8Array, PcmChunk> {
  return g711Decode('alaw', 'alawDecode', options);
}
