import { VoxpipeError, anyPcm, describeFormat, parseOptions, pcmFrames, transformStage, type PcmChunk, type TransformStage } from '@voxpipe/core';
import * as v from 'valibot';
import { createMp3Encoder } from 'wasm-media-encoders';

const BITRATES = [8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320] as const;
/** Sample rates an MP3 can have; other input rates are resampled by LAME to one of these. */
const MP3_RATES = new Set([8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]);

const schema = v.pipe(
  v.strictObject({
    /** Constant bitrate in kbit/s (LAME lowers it to what the sample rate allows). */
    bitrate: v.optional(v.picklist(BITRATES)),
    /** Variable bitrate quality, 0 (best) to <10 (smallest); the default (4) when `bitrate` is absent. */
    vbrQuality: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(9.999))),
  }),
  v.check((o) => o.bitrate === undefined || o.vbrQuality === undefined, 'give bitrate or vbrQuality, not both'),
);

export type Mp3EncodeOptions = v.InferInput<typeof schema>;

type Mp3Encoder = Awaited<ReturnType<typeof createMp3Encoder>>;

/**
 * Idle LAME instances. Starting one compiles and instantiates ~800 kB of
 * WASM (25–50 ms); `configure()` resets an instance completely, so a finished
 * stream's encoder serves the next one and the first MP3 bytes leave sooner.
 */
const idle: Mp3Encoder[] = [];
const MAX_IDLE = 8;

function takeEncoder(): Promise<Mp3Encoder> {
  const encoder = idle.pop();
  return encoder ? Promise.resolve(encoder) : createMp3Encoder();
}

function returnEncoder(encoder: Mp3Encoder): void {
  if (idle.length < MAX_IDLE && !idle.includes(encoder)) idle.push(encoder);
}

/**
 * Starts `count` MP3 encoders ahead of time so the first streams don't wait
 * for WASM to compile (a server calls it at start).
 *
 * ```ts
 * await warmMp3Encoders(2);
 * ```
 */
export async function warmMp3Encoders(count = 1): Promise<void> {
  const made = await Promise.all(Array.from({ length: Math.max(0, count - idle.length) }, () => createMp3Encoder()));
  for (const encoder of made) returnEncoder(encoder);
}

/**
 * Encodes PCM (mono or stereo) to MP3 with LAME (WASM), chunk by chunk: bytes
 * leave as soon as LAME has whole frames, the rest at the end. The output
 * keeps the input's sample rate when an MP3 can have it. Use it to serve
 * `audio/mpeg` or to save compact files. Output bytes do not depend on how the
 * input was chunked. Word marks are dropped: MP3 bytes carry none (read them
 * before this stage, as the server does for its timestamps).
 *
 * ```ts
 * pipeline(tone({ ms: 1000 }), mp3Encode({ bitrate: 64 }), collect({ kind: 'bytes' }));
 * pipeline(engineSource(text), mp3Encode({ vbrQuality: 2 }), httpResponse());
 * ```
 */
export function mp3Encode(options: Mp3EncodeOptions = {}): TransformStage<PcmChunk, Uint8Array> {
  const parsed = parseOptions('mp3Encode', schema, options);
  return transformStage<PcmChunk, Uint8Array>({
    name: 'mp3Encode',
    takes: anyPcm,
    gives: (input) => {
      if (input.channels !== undefined && input.channels > 2) {
        throw new VoxpipeError('format', `"mp3Encode" takes mono or stereo PCM but is given ${describeFormat(input)}`, { stage: 'mp3Encode' });
      }
      return {
        kind: 'bytes',
        container: 'mp3',
        sampleRate: input.sampleRate !== undefined && MP3_RATES.has(input.sampleRate) ? input.sampleRate : undefined,
        channels: input.channels,
      };
    },
    spec: { stage: 'mp3Encode', options: { ...parsed } },
    transformer: (ctx) => {
      let creating: Promise<Mp3Encoder> | undefined;
      let encoder: Mp3Encoder | undefined;
      let released = false; // the encoder went back to the idle set: never touch it again
      let shape: { sampleRate: number; channels: number } | undefined;
      ctx.defer(() => {
        // Back to the idle set, whether the run finished or was aborted: the next configure() resets it.
        released = true;
        creating?.then(returnEncoder, () => {});
        encoder = undefined;
      });
      const fail = (message: string, cause?: unknown) => new VoxpipeError('format', message, { stage: ctx.stage, cause });
      return {
        start() {
          creating = takeEncoder();
          creating.catch(() => {}); // reported when first used
        },
        async transform(chunk, controller) {
          if (pcmFrames(chunk) === 0) return; // nothing to encode, and nothing to learn the shape from
          if (!shape) {
            const channels = chunk.channels.length;
            if (channels !== 1 && channels !== 2) throw fail(`mp3Encode takes mono or stereo PCM, not ${channels} channels`);
            shape = { sampleRate: chunk.sampleRate, channels };
            try {
              const started = await creating!;
              if (released) return;
              encoder = started;
            } catch (error) {
              throw new VoxpipeError('internal', `The MP3 encoder failed to start: ${(error as Error).message}`, { stage: ctx.stage, cause: error });
            }
            try {
              encoder.configure({
                sampleRate: chunk.sampleRate,
                channels: channels as 1 | 2,
                ...(parsed.bitrate !== undefined ? { bitrate: parsed.bitrate } : { vbrQuality: parsed.vbrQuality ?? 4 }),
                ...(MP3_RATES.has(chunk.sampleRate) ? { outputSampleRate: chunk.sampleRate as 44100 } : {}),
              });
            } catch (error) {
              throw fail(`mp3Encode cannot encode ${chunk.sampleRate} Hz × ${channels}: ${(error as Error).message}`, error);
            }
          } else if (chunk.sampleRate !== shape.sampleRate || chunk.channels.length !== shape.channels) {
            throw fail(`mp3Encode: the audio changed from ${shape.sampleRate} Hz × ${shape.channels} to ${chunk.sampleRate} Hz × ${chunk.channels.length} mid-stream`);
          }
          if (!encoder) return;
          const bytes = encoder.encode(chunk.channels);
          if (bytes.byteLength > 0) controller.enqueue(bytes.slice()); // the encoder owns `bytes`
        },
        flush(controller) {
          if (!encoder) return;
          const bytes = encoder.finalize();
          if (bytes.byteLength > 0) controller.enqueue(bytes.slice());
          encoder = undefined;
        },
      };
    },
  });
}
