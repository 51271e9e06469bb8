import * as v from 'valibot';
import { VoxpipeError } from '../errors.js';
import { describeFormat, formatMismatch, text } from '../format.js';
import { msSchema, parseOptions, sampleRateSchema } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { reconnect, type ReconnectOptions } from '../sources/reconnect.js';
import { expectedFormat, ttsSource, type FetchLike } from '../sources/tts-source.js';
import type { SourceStage, TransformStage } from '../stage.js';
import { pcmDecode } from './pcm-decode.js';
import { speakingPair } from './speak-run.js';

const text1 = v.pipe(v.string(), v.minLength(1));

const schema = v.strictObject({
  /** The service's origin, e.g. `https://api.example.com`. */
  baseUrl: v.pipe(v.string(), v.url()),
  /** Sent as `X-API-Key`. */
  apiKey: v.optional(text1),
  voice: v.optional(text1),
  /** BCP-47, e.g. `en-US`: sent with each request, and picks how the text is cut into sentences (abbreviations, stops). */
  language: v.optional(text1),
  /** e.g. `aura-lite`, `rapid-flash`. */
  model: v.optional(text1),
  speed: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0.1), v.maxValue(10))),
  pitch: v.optional(v.pipe(v.number(), v.finite())),
  /** What to ask the server for. `pcm` (the default) needs no codec; `mp3` needs `decoder: decode()` from @voxpipe/codecs. */
  format: v.optional(v.picklist(['pcm', 'mp3', 'wav']), 'pcm'),
  /** Turns one response's bytes into PCM; a fresh run of it per sentence. Default: `pcmDecode()`. */
  decoder: v.optional(v.custom<TransformStage<Uint8Array, PcmChunk>>((x) => isTransform(x), 'decoder must be a transform stage, e.g. decode()')),
  /** Requests in flight at once, the sentence playing included: 2 fetches the next sentence while one plays. */
  concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16)), 2),
  /** Text waiting this long without a sentence end is spoken up to its last word (0 turns it off). */
  maxWaitMs: v.optional(msSchema, 1000),
  /** Longest sentence sent in one request (cut at a comma, else a space). */
  maxChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(8), v.maxValue(100_000)), 250),
  /** Silence between two sentences. */
  sentencePauseMs: v.optional(v.pipe(msSchema, v.maxValue(10_000)), 0),
  /** Audio read ahead per prefetched sentence; beyond it the response's own backpressure holds the server back. */
  prefetchMs: v.optional(v.pipe(msSchema, v.minValue(1), v.maxValue(600_000)), 5000),
  /** The rate of the PCM given (other rates are resampled). */
  sampleRate: v.optional(sampleRateSchema, 24000),
  /**
   * Ask for each sentence's word timings (the server's with-timestamps route):
   * the audio then carries word marks placed on the whole answer as written,
   * so sinks report `word` events and the heard text of the answer.
   */
  timestamps: v.optional(v.boolean(), false),
  /**
   * Say Markdown, URLs, e-mail addresses and emoji as a person would
   * (`SpeechNormalizer`, sentence by sentence); word marks still point into
   * the answer as written. `false` sends each sentence as it is.
   */
  normalize: v.optional(v.boolean(), true),
  /** Options for `reconnect` around each request, or `false` for none. */
  reconnect: v.optional(v.custom<ReconnectOptions | false>((x) => x === false || (typeof x === 'object' && x !== null), 'reconnect must be options or false'), {}),
  /** Not part of the spec: a fetch to call instead of the global one. */
  fetch: v.optional(v.custom<FetchLike>((x) => typeof x === 'function', 'fetch must be a function')),
});

export type SpeakOptions = v.InferInput<typeof schema>;
export type SpeakSettings = v.InferOutput<typeof schema>;

function isTransform(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as { role?: unknown }).role === 'transform' && typeof (x as { create?: unknown }).create === 'function';
}


/**
 * Speaks a stream of text — an LLM's tokens, lines, whole paragraphs — as one
 * ordered stream of mono PCM, starting after the first sentence rather than
 * the whole answer. The text is cut into sentences as `sentences()` does
 * (with `maxWaitMs`, a slow token stream still speaks); each sentence is one
 * `ttsSource` request (wrapped in `reconnect`) decoded by `decoder`, and up to
 * `concurrency` requests are in flight, so the next sentences' audio is
 * fetched while the current one plays. Audio is given strictly in sentence
 * order, never overlapping, with `sentencePauseMs` of silence between
 * sentences (none by default) and nothing else in between. A `sentence` event
 * reports each sentence as its audio begins. Each sentence is said as
 * prose (`normalize`: Markdown, links, e-mail addresses, emoji); with
 * `timestamps`, its word marks are moved onto the whole answer as written, so
 * a sink's `word` events and heard text (`stop()`) quote the answer itself,
 * across sentences.
 *
 * Memory stays bounded: a sentence is read from the text only when a request
 * slot is free (until then the text stream is held back), and a prefetched
 * sentence buffers at most `prefetchMs` of decoded audio; past that, its
 * response body is not read and TCP holds the server back. Aborting the run
 * (or cancelling the stream) aborts every request in flight, so the server
 * stops synthesizing. The server's `pcm` needs no codec; for `mp3` pass
 * `decoder: decode()` from `@voxpipe/codecs`.
 *
 * ```ts
 * const tokens = fromIterable(llm.stream(prompt), { format: { kind: 'text' } });
 * pipeline(tokens, speak({ baseUrl, apiKey, voice: 'Anna', model: 'aura-lite' }), play());
 * ```
 */
export function speak(options: SpeakOptions): TransformStage<string, PcmChunk> {
  const o = parseOptions('speak', schema, options);
  const decoder = o.decoder ?? pcmDecode();
  const expected = expectedFormat(o.format);
  if (formatMismatch(expected, decoder.takes)) {
    throw new VoxpipeError('format', `"speak" asks for ${o.format} but its decoder "${decoder.name}" takes ${describeFormat(decoder.takes)}; pass decoder: decode() for ${o.format}`, {
      stage: 'speak',
    });
  }
  const retry = o.reconnect === false ? undefined : reconnect(o.reconnect);
  const request = (sentence: string): SourceStage<Uint8Array> => {
    const source = ttsSource({
      baseUrl: o.baseUrl,
      apiKey: o.apiKey,
      text: sentence,
      voice: o.voice,
      language: o.language,
      model: o.model,
      speed: o.speed,
      pitch: o.pitch,
      format: o.format,
      timestamps: o.timestamps || undefined,
      fetch: o.fetch,
    });
    return retry ? (retry.wrap(source) as SourceStage<Uint8Array>) : source;
  };
  const { decoder: _decoder, fetch: _fetch, ...specOptions } = o;
  return {
    role: 'transform',
    name: 'speak',
    takes: text,
    gives: () => ({ kind: 'pcm', sampleRate: o.sampleRate, channels: 1 }),
    spec: o.decoder ? undefined : { stage: 'speak', options: JSON.parse(JSON.stringify(specOptions)) as Record<string, unknown> },
    create(ctx) {
      return speakingPair(ctx, o, request, decoder);
    },
  };
}

