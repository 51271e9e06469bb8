import { mp3Encode, WAV_HEADER_BYTES, wavEncode } from '@voxpipe/codecs';
import { ReadableStream, assemble, concatPcm, fromStream, locateSentence, openSource, pcmEncode, resample, sliceMarks, splitSentences, withMarks, type Engine, type Format, type PcmChunk, type RunEvent, type SynthesisRequest, type TransformStage, type WordMark } from '@voxpipe/core';
import type { AudioFormatName, ModelPath } from './catalog.js';
import { oggOpusEncode, opusPageByteAt } from './ogg-opus-encode.js';

/** Every response is 24 kHz mono, whatever the engine's own rate. */
export const OUTPUT_RATE = 24000;
/** MP3 bitrate: constant, so bytes track time and a stream can be resumed by offset. */
const MP3_KBPS = 48;
/** Opus bitrate: constant too (20 ms packets of 80 bytes), for the same reasons. */
const OPUS_KBPS = 32;
/** Samples in an MP3 frame at 24 kHz (MPEG-2 layer III). */
const MP3_FRAME_SAMPLES = 576;
/** Bytes in each of those frames at MP3_KBPS: 72 × bitrate / rate (144; no padding at 24 kHz). */
const MP3_FRAME_BYTES = (72 * MP3_KBPS * 1000) / OUTPUT_RATE;
/**
 * How much later a sample comes out of our MP3 pair (LAME's encoder, then
 * mpg123 through `decode()`) than it went in: LAME's 576-sample encoder delay
 * plus the decoder's 529 (nothing trims them: the stream has no gapless
 * header). Measured by a test through the server.
 */
export const MP3_DELAY_SAMPLES = 1105;
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
  opus: 'audio/ogg; codecs=opus',
};

/** Bytes per second of each format's audio (MP3: its constant bitrate; Opus: its constant bitrate and a 32-byte page header per 100 ms). */
const BYTES_PER_SECOND: Record<AudioFormatName, number> = { pcm: OUTPUT_RATE * 2, wav: OUTPUT_RATE * 2, mp3: (MP3_KBPS * 1000) / 8, opus: (OPUS_KBPS * 1000) / 8 + 10 * 32 };
/** Room for what is not audio: the WAV header, the MP3 encoder's delay and last frame, the Opus header pages and padding. */
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

/**
 * Where in a response's audio bytes the sample at `frame` of the engine's
 * PCM (at `engineRate`) is: the byte its 24 kHz sample starts at (PCM, after
 * WAV's header), for MP3 the first byte of the frame a decoder gives it
 * from (MP3_DELAY_SAMPLES later), for Opus the first byte of the page whose
 * packet gives it. Never less for a later frame.
 *
 * ```ts
 * audioByteAt('pcm', 22050, 22050); // 48000: one second in
 * ```
 */
export function audioByteAt(format: AudioFormatName, frame: number, engineRate: number): number {
  // Where resample puts it: the first output sample at or after it.
  const sample = Math.floor((frame * OUTPUT_RATE + engineRate - 1) / engineRate);
  if (format === 'mp3') return MP3_FRAME_BYTES * Math.floor((sample + MP3_DELAY_SAMPLES) / MP3_FRAME_SAMPLES);
  if (format === 'opus') return opusPageByteAt(sample, OUTPUT_RATE, OPUS_KBPS);
  return (format === 'wav' ? WAV_HEADER_BYTES : 0) + 2 * sample;
}

/** The headers that say what the audio is. */
export function audioHeaders(format: AudioFormatName): Record<string, string> {
  return {
    'Content-Type': CONTENT_TYPES[format],
    'X-Audio-Format': format,
    ...(format === 'mp3' || format === 'opus' ? {} : { 'X-Audio-Encoding': 's16le' }),
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
  // Where each sentence's characters are in the request's text: the engine marks words in the sentence it is given.
  let cursor = 0;
  const origins = sentences.map((sentence) => {
    const { at, end } = locateSentence(request.text, cursor, sentence);
    cursor = end;
    return at;
  });
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let index = 0;
  let pieces: PcmChunk[] = [];
  let ahead: Promise<PcmChunk[]> | undefined;

  const synthesizeWhole = async (index: number): Promise<PcmChunk[]> => {
    // Each sentence is needed whole before any of it is sent: all of it is urgent.
    const reader = engine.synthesize(decorate({ text: sentences[index], voice: request.voice, speed: request.speed, pitch: request.pitch, signal: stop.signal, owner, urgentMs: Infinity })).getReader();
    const chunks: PcmChunk[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    if (chunks.length === 0) return [];
    const whole = concatPcm(chunks, engine.sampleRate, 1);
    const marks = whole.marks?.map((mark) => inRequest(mark, origins[index], request.text));
    const step = Math.round((engine.sampleRate * PIECE_MS) / 1000);
    const out: PcmChunk[] = [];
    for (let i = 0; i < whole.channels[0].length; i += step) {
      out.push(withMarks({ sampleRate: engine.sampleRate, channels: [whole.channels[0].slice(i, i + step)] }, sliceMarks(marks, i, i + step)));
    }
    return out;
  };
  const start = (i: number) => {
    const promise = synthesizeWhole(i);
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

/** A mark on a sentence's word as a mark on the request's: its offsets in the request's text (`at`: where each of the sentence's code units is). */
function inRequest(mark: WordMark, at: Int32Array, text: string): WordMark {
  const charStart = at[mark.charStart];
  const charEnd = at[mark.charEnd - 1] + 1;
  return { ...mark, text: text.slice(charStart, charEnd), charStart, charEnd };
}

/** The stages from engine PCM to response bytes. */
export function encodingStages(format: AudioFormatName): TransformStage[] {
  const toRate = resample({ rate: OUTPUT_RATE }) as TransformStage;
  if (format === 'pcm') return [toRate, pcmEncode({ encoding: 's16le' }) as TransformStage];
  if (format === 'mp3') return [toRate, mp3Encode({ bitrate: MP3_KBPS }) as TransformStage];
  if (format === 'opus') return [toRate, oggOpusEncode({ bitrate: OPUS_KBPS }) as TransformStage];
  return [toRate, wavEncode({ encoding: 's16le' }) as TransformStage];
}

/**
 * The response bytes for a request, built from voxpipe stages: engine →
 * resample to 24 kHz → pcmEncode / mp3Encode / wavEncode / oggOpusEncode. Cancelling the
 * stream (or aborting `signal`) stops the engine.
 */
export function audioBytes(
  engine: Engine,
  request: AudioRequest,
  options: SpeechOptions & {
    onWarning?: (stage: string, detail: { code: string; message: string }) => void;
    /** A stage that sees the engine's PCM (word marks included) before it is encoded; it must give it on unchanged. */
    tap?: TransformStage<PcmChunk, PcmChunk>;
  },
): ReadableStream<Uint8Array> {
  const { signal, onWarning, tap } = options;
  const pcm = speech(engine, request, options);
  const input: Format = { kind: 'pcm', sampleRate: engine.sampleRate, channels: 1 };
  const onEvent = (event: RunEvent) => {
    if (event.type === 'warning') onWarning?.(event.stage ?? 'audio', event.detail as { code: string; message: string });
  };
  const stages = tap ? [tap as TransformStage, ...encodingStages(request.format)] : encodingStages(request.format);
  return openSource<Uint8Array>(assemble(fromStream(pcm, input), ...stages), { signal, onEvent }).readable;
}
