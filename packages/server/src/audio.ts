import { mp3Encode, wavEncode } from '@voxpipe/codecs';
import { ReadableStream, assemble, concatPcm, fromStream, openSource, pcmEncode, resample, splitSentences, type Engine, type Format, type PcmChunk, type RunEvent, type SynthesisRequest, type TransformStage } from '@voxpipe/core';
import type { AudioFormatName, ModelPath } from './catalog.js';

/** Every response is 24 kHz mono, whatever the engine's own rate. */
export const OUTPUT_RATE = 24000;
/** MP3 bitrate: constant, so bytes track time and a stream can be resumed by offset. */
const MP3_KBPS = 48;
/** Pseudo-streaming sends a finished sentence in pieces of this length. */
const PIECE_MS = 100;

export interface AudioRequest {
  path: ModelPath;
  text: string;
  /** Engine voice id. */
  voice: string;
  /** BCP 47 language of the text (sentences are cut by its rules). */
  language: string;
  speed?: number;
  pitch?: number;
  format: AudioFormatName;
}

export const CONTENT_TYPES: Record<AudioFormatName, string> = {
  pcm: `audio/pcm; rate=${OUTPUT_RATE}; channels=1`,
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

/** Bytes per second of each format's audio (MP3: its constant bitrate). */
const BYTES_PER_SECOND: Record<AudioFormatName, number> = { pcm: OUTPUT_RATE * 2, wav: OUTPUT_RATE * 2, mp3: (MP3_KBPS * 1000) / 8 };
/** Room for what is not audio: the WAV header, the MP3 encoder's delay and last frame. */
const OVERHEAD_BYTES = 4096;

/**
 * The most bytes a response of `format` can hold for at most `ms` of
 * audio: a range starting at or past it is past the end.
 *
 * ```ts
 * maxBytes('pcm', 1000); // 52096
 * ```
 */
export function maxBytes(format: AudioFormatName, ms: number): number {
  return Math.ceil((BYTES_PER_SECOND[format] * ms) / 1000) + OVERHEAD_BYTES;
}

/** The headers that say what the audio is. */
export function audioHeaders(format: AudioFormatName): Record<string, string> {
  return {
    'Content-Type': CONTENT_TYPES[format],
    'X-Audio-Format': format,
    ...(format === 'mp3' ? {} : { 'X-Audio-Encoding': 's16le' }),
    'X-Sample-Rate': String(OUTPUT_RATE),
    'X-Channels': '1',
  };
}

/** How one stream's audio is made. */
export interface SpeechOptions {
  /** Aborting stops the engine. */
  signal: AbortSignal;
  /** Whose engine time it is (the key's id): the engine shares its time fairly between owners. */
  owner?: string;
  /** Audio needed before any is sent (a range: all of it, `Infinity`), made as urgently as first audio. */
  urgentMs?: number;
  /** Sees (and may replace) each request sent to the engine. */
  decorate?: Decorate;
}

/**
 * The engine's PCM for a request: straight from the engine (provider
 * streaming), or sentence by sentence (pseudo-streaming: each sentence is
 * synthesized whole, the next one while the current one is sent).
 */
export function speech(engine: Engine, request: AudioRequest, options: SpeechOptions): ReadableStream<PcmChunk> {
  const { signal, owner, urgentMs, decorate = (r) => r } = options;
  if (request.path === 'provider-streaming') {
    return engine.synthesize(decorate({ text: request.text, voice: request.voice, speed: request.speed, signal, owner, urgentMs }));
  }
  return sentenceBySentence(engine, request, signal, decorate, owner);
}

/** Lets the server's owner see or adjust each engine request (ServerHooks.synthesis). */
export type Decorate = (request: SynthesisRequest) => SynthesisRequest;

function sentenceBySentence(engine: Engine, request: AudioRequest, signal: AbortSignal, decorate: Decorate, owner: string | undefined): ReadableStream<PcmChunk> {
  const sentences = splitSentences(request.text, { language: request.language });
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let index = 0;
  let pieces: PcmChunk[] = [];
  let ahead: Promise<PcmChunk[]> | undefined;

  const synthesizeWhole = async (text: string): Promise<PcmChunk[]> => {
    // Each sentence is needed whole before any of it is sent: all of it is urgent.
    const reader = engine.synthesize(decorate({ text, voice: request.voice, speed: request.speed, pitch: request.pitch, signal: stop.signal, owner, urgentMs: Infinity })).getReader();
    const chunks: PcmChunk[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    if (chunks.length === 0) return [];
    const whole = concatPcm(chunks, engine.sampleRate, 1);
    const step = Math.round((engine.sampleRate * PIECE_MS) / 1000);
    const out: PcmChunk[] = [];
    for (let i = 0; i < whole.channels[0].length; i += step) out.push({ sampleRate: engine.sampleRate, channels: [whole.channels[0].slice(i, i + step)] });
    return out;
  };
  const start = (i: number) => {
    const promise = synthesizeWhole(sentences[i]);
    promise.catch(() => {}); // awaited later; not an unhandled rejection meanwhile
    return promise;
  };
  const end = () => {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
  };

  return new ReadableStream<PcmChunk>(
    {
      async pull(controller) {
        try {
          while (pieces.length === 0) {
            if (index >= sentences.length) {
              end();
              return controller.close();
            }
            const current = ahead ?? start(index);
            index++;
            pieces = await current;
            // The next sentence is made while this one is sent; starting it only now keeps every
            // stream's first sentence ahead of other streams' second ones in the engine's queue.
            ahead = index < sentences.length ? start(index) : undefined;
          }
          controller.enqueue(pieces.shift()!);
        } catch (error) {
          end();
          throw error;
        }
      },
      cancel() {
        end();
      },
    },
    { highWaterMark: 0 },
  );
}

/** The stages from engine PCM to response bytes. */
export function encodingStages(format: AudioFormatName): TransformStage[] {
  const toRate = resample({ rate: OUTPUT_RATE }) as TransformStage;
  if (format === 'pcm') return [toRate, pcmEncode({ encoding: 's16le' }) as TransformStage];
  if (format === 'mp3') return [toRate, mp3Encode({ bitrate: MP3_KBPS }) as TransformStage];
  return [toRate, wavEncode({ encoding: 's16le' }) as TransformStage];
}

/**
 * The response bytes for a request, built from voxpipe stages: engine →
 * resample to 24 kHz → pcmEncode / mp3Encode / wavEncode. Cancelling the
 * stream (or aborting `signal`) stops the engine.
 */
export function audioBytes(
  engine: Engine,
  request: AudioRequest,
  options: SpeechOptions & { onWarning?: (stage: string, detail: { code: string; message: string }) => void },
): ReadableStream<Uint8Array> {
  const { signal, onWarning } = options;
  const pcm = speech(engine, request, options);
  const input: Format = { kind: 'pcm', sampleRate: engine.sampleRate, channels: 1 };
  const onEvent = (event: RunEvent) => {
    if (event.type === 'warning') onWarning?.(event.stage ?? 'audio', event.detail as { code: string; message: string });
  };
  return openSource<Uint8Array>(assemble(fromStream(pcm, input), ...encodingStages(request.format)), { signal, onEvent }).readable;
}
