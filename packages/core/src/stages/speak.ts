import * as v from 'valibot';
import { ttsSource, type FetchLike } from '../sources/tts-source.js';
import { VoxpipeError, toVoxpipeError } from '../errors.js';
import { anyPcm, describeFormat, formatMismatch, text, type Format } from '../format.js';
import { msSchema, parseOptions, sampleRateSchema } from '../options.js';
import { pcmFrames, pcmTimeStrategy, silence, type PcmChunk } from '../pcm/pcm.js';
import { openSource } from '../open-source.js';
import { mixChannels } from '../pcm/mix-channels.js';
import { assemble } from '../pipeline.js';
import { transformStage, type SourceStage, type StageContext, type TransformStage } from '../stage.js';
import { pcmDecode } from './pcm-decode.js';
import { reconnect, type ReconnectOptions } from '../sources/reconnect.js';
import { resample } from './resample.js';
import { ReadableStream } from '../streams.js';
import { sentences } from '../text/sentences.js';

const text1 = v.pipe(v.string(), v.minLength(1));

const schema = v.strictObject({
  /** The service's origin, e.g. `https://api.example.com`. */
  baseUrl: v.pipe(v.string(), v.url()),
  /** Sent as `X-API-Key`. */
  apiKey: v.optional(text1),
  voice: v.optional(text1),
  /** BCP-47, e.g. `en-US`. */
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
  /** Options for `reconnect` around each request, or `false` for none. */
  reconnect: v.optional(v.custom<ReconnectOptions | false>((x) => x === false || (typeof x === 'object' && x !== null), 'reconnect must be options or false'), {}),
  /** Not part of the spec: a fetch to call instead of the global one. */
  fetch: v.optional(v.custom<FetchLike>((x) => typeof x === 'function', 'fetch must be a function')),
});

export type SpeakOptions = v.InferInput<typeof schema>;
type Options = v.InferOutput<typeof schema>;

function isTransform(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as { role?: unknown }).role === 'transform' && typeof (x as { create?: unknown }).create === 'function';
}

const EXPECTED: Record<Options['format'], Format> = {
  pcm: { kind: 'bytes', container: 'pcm', encoding: 's16le' },
  mp3: { kind: 'bytes', container: 'mp3' },
  wav: { kind: 'bytes', container: 'wav' },
};

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
 * reports each sentence as its audio begins.
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
  const expected = EXPECTED[o.format];
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
      return speakingPair(ctx, o, request, decoder) as unknown as TransformStream<string, PcmChunk>;
    },
  };
}

/** One sentence's request: its audio, read in turn. */
interface Job {
  index: number;
  text: string;
  reader: ReadableStreamDefaultReader<PcmChunk>;
  /** Its audio has begun to be given (or its pause). */
  begun: boolean;
  /** Frees what its stages hold once its audio has all been read. */
  done(): void;
  /** Aborts its request and frees everything. */
  stop(reason: unknown): void;
}

/** Resolves everyone waiting at the next `notify()`. */
class Notifier {
  #waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  notify(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

/** The writable (text in) and readable (PCM out) of one run of `speak`. */
function speakingPair(
  ctx: StageContext,
  o: Options,
  request: (sentence: string) => SourceStage<Uint8Array>,
  decoder: TransformStage<Uint8Array, PcmChunk>,
): { writable: WritableStream<string>; readable: ReadableStream<PcmChunk> } {
  const split = sentences({ maxWaitMs: o.maxWaitMs, maxChars: o.maxChars }).create(ctx, text);
  const sentenceReader = split.readable.getReader();
  const toRate = resample({ rate: o.sampleRate });
  // The read-ahead: fills while earlier sentences play, then holds the response back.
  const readAhead = transformStage<PcmChunk, PcmChunk>({
    name: 'readAhead',
    takes: anyPcm,
    gives: (format) => format,
    transformer: () => ({}),
    writableStrategy: { highWaterMark: 1 },
    readableStrategy: pcmTimeStrategy(o.prefetchMs),
  });
  const pauseFrames = Math.round((o.sentencePauseMs * o.sampleRate) / 1000);
  const jobs: Job[] = [];
  const arrived = new Notifier();
  const freed = new Notifier();
  let count = 0;
  let inputDone = false;
  let stopped = false;
  let failure: unknown;
  let output: ReadableStreamDefaultController<PcmChunk> | undefined;

  const stopAll = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    for (const job of jobs.splice(0)) job.stop(reason);
    void sentenceReader.cancel(reason).catch(() => {});
    arrived.notify();
    freed.notify();
  };
  const fail = (error: unknown) => {
    if (stopped) return;
    failure = ctx.signal.aborted ? ctx.signal.reason : toVoxpipeError(error, 'speak');
    stopAll(failure);
    try {
      output?.error(failure);
    } catch {
      // already closed
    }
  };
  ctx.onAbort(fail);
  ctx.defer(() => stopAll(new VoxpipeError('aborted', 'The run ended', { stage: 'speak' })));

  function start(sentence: string, index: number): Job {
    const controller = new AbortController();
    const { signal } = controller;
    const speech = assemble<PcmChunk>(request(sentence), decoder, toRate, readAhead);
    const reader = openSource(speech, { signal, parent: ctx }).readable.getReader();
    let ended = false;
    return {
      index,
      text: sentence,
      reader,
      begun: false,
      done() {
        ended = true;
      },
      stop(reason) {
        if (ended) return;
        ended = true;
        if (!signal.aborted) controller.abort(reason ?? new VoxpipeError('aborted', 'The sentence was stopped', { stage: 'speak' }));
        void reader.cancel(reason).catch(() => {});
      },
    };
  }

  /** Reads sentences while a request slot is free, and starts each one's request at once. */
  async function intake(): Promise<void> {
    try {
      for (;;) {
        while (!stopped && jobs.length >= o.concurrency) await freed.wait();
        if (stopped) return;
        const next = await sentenceReader.read();
        if (stopped) return;
        if (next.done) {
          inputDone = true;
          arrived.notify();
          return;
        }
        jobs.push(start(next.value, count++));
        arrived.notify();
      }
    } catch (error) {
      fail(error);
    }
  }

  const readable = new ReadableStream<PcmChunk>(
    {
      start(controller) {
        output = controller;
        void intake();
      },
      async pull(controller) {
        try {
          await give(controller);
        } catch (error) {
          fail(error);
          throw failure ?? error;
        }
      },
      cancel(reason) {
        stopAll(reason);
      },
    },
    { highWaterMark: 0 },
  );

  /** Gives the next chunk (or a pause, or the end), waiting for it as long as it takes. */
  async function give(controller: ReadableStreamDefaultController<PcmChunk>): Promise<void> {
    for (;;) {
      if (failure !== undefined) throw failure;
      if (stopped) return;
      const job = jobs[0];
      if (!job) {
        if (inputDone) {
          stopAll(undefined);
          controller.close();
          return;
        }
        await arrived.wait();
        continue;
      }
      if (!job.begun) {
        job.begun = true;
        ctx.emit('sentence', { index: job.index, text: job.text });
        if (job.index > 0 && pauseFrames > 0) {
          controller.enqueue(silence(o.sampleRate, 1, pauseFrames));
          return;
        }
      }
      const result = await job.reader.read();
      if (stopped) return;
      if (result.done) {
        jobs.shift();
        job.done();
        freed.notify();
        continue;
      }
      const chunk = mono(result.value);
      if (pcmFrames(chunk) === 0) continue;
      controller.enqueue(chunk);
      return;
    }
  }
  return { writable: split.writable, readable };
}

/** The chunk as one channel (the mean of its channels). */
function mono(chunk: PcmChunk): PcmChunk {
  if (chunk.channels.length === 0) throw new VoxpipeError('format', '"speak" got a PCM chunk with no channels', { stage: 'speak' });
  return { sampleRate: chunk.sampleRate, channels: mixChannels(chunk.channels, 1) };
}
