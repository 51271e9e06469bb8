import { ReadableStream, VoxpipeError } from '@voxpipe/core';
import { ApiError } from './api-error.js';
import type { AudioCache } from './audio-cache.js';
import { audioBytes, audioHeaders, CONTENT_TYPES, maxBytes, MP3_DELAY_SAMPLES, type Decorate } from './audio.js';
import { guardBody } from './guard.js';
import { admitToEngine } from './engine-admission.js';
import { describeError, type Logger } from './logger.js';
import type { OpenStreams } from './open-streams.js';
import { bodyFrom, firstBytes, readRange, type RangedStart } from './range.js';
import type { StreamPlan } from './stream-plan.js';
import { StreamWords } from './stream-words.js';
import { timestampedLines } from './timestamped-lines.js';
import { wordTap } from './word-tap.js';

export interface StreamResponseOptions {
  /** The id of the key the stream is for (logs only). */
  keyId: string;
  /** The client's signal: aborting it stops the synthesis. */
  clientSignal: AbortSignal;
  /** Hands the stream slot to the body, which releases it when it ends. */
  takeStreamSlot: () => () => void;
  streams: OpenStreams;
  logger: Logger;
  /** A client that reads nothing for this long has its stream ended. */
  idleTimeoutMs: number;
  /** Sees (and may replace) each request sent to the engine. */
  decorate?: Decorate;
  /** Cuts the connection at once (Node: destroys the response) when the stream fails mid-way. */
  abortConnection?: () => void;
  /** Complete streams by ETag: a stream held there is served from memory, without the engine; a whole stream made here is put there. */
  cache?: AudioCache;
  /**
   * Answer with the words too: `application/x-ndjson` lines of base64 audio
   * (the very bytes of the plain stream) and of timed words (`timestampedLines`);
   * a range counts audio bytes. Never from the cache, which holds no words.
   */
  timestamps?: boolean;
}

/**
 * Starts making a planned stream and answers with it, if the engine can
 * take it without making any stream fall behind (else 429 `engine-busy`
 * with `Retry-After`, see `admitToEngine`). The whole stream: 200
 * once the first byte is ready, the audio streamed as it is made. A range:
 * 206 once the range is made to its end, so `Content-Range` names exactly
 * the bytes sent (and the total, when the range reaches the end); a range
 * past what the text could ever give is refused at once, without
 * synthesis. Before the first byte, failures are still errors: 400 for a
 * request the engine refuses, 416 for a range past the end, 499 for a client
 * that left, 500 `internal` (logged, nothing of the cause told) for the
 * rest. After it, the guarded body ends the stream cleanly instead. With
 * `timestamps`, the same audio (and range, ETag and errors) as ndjson lines
 * with the words.
 *
 * ```ts
 * return streamResponse(await planStream(request, schema, engines), { keyId, clientSignal: c.req.raw.signal, … });
 * ```
 */
export async function streamResponse(plan: StreamPlan, options: StreamResponseOptions): Promise<Response> {
  const { model, audio, range } = plan;
  const { keyId, clientSignal, logger } = options;
  const engine = plan.ready.engine;
  if (range && engine.maxAudioMs) {
    const most = maxBytes(audio.format, engine.maxAudioMs({ text: audio.text, speed: audio.speed, pitch: audio.pitch }));
    if (range.start >= most) throw new ApiError(416, 'range-not-satisfiable', `The range starts past the end: this text gives fewer than ${most} bytes`);
  }
  const cache = options.timestamps ? undefined : options.cache;
  const cached = plan.tag && cache ? cache.get(plan.tag) : undefined;
  if (cached) return cachedResponse(plan, cached);
  const releaseEngine = admitToEngine(engine, { text: audio.text, speed: audio.speed, owner: keyId });
  const stop = new AbortController();
  const onClientGone = () => stop.abort(new VoxpipeError('aborted', 'The client went away'));
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  const untrack = options.streams.track(stop);
  const started = performance.now();
  const finish = () => {
    releaseEngine();
    untrack();
    clientSignal.removeEventListener('abort', onClientGone);
  };

  const words = options.timestamps ? new StreamWords(audio.format, engine.sampleRate) : undefined;
  const reader = audioBytes(engine, audio, {
    signal: stop.signal,
    owner: keyId,
    urgentMs: range ? Infinity : 0,
    decorate: options.decorate,
    onWarning: (stage, w) => logger.warn(`${stage}: ${w.code}: ${w.message}`),
    tap: words && wordTap(words),
  }).getReader();
  let start: RangedStart<Uint8Array>;
  try {
    start = range ? await readRange(reader, range) : await firstBytes(reader);
  } catch (error) {
    const gone = stop.signal.aborted;
    finish();
    stop.abort();
    await reader.cancel().catch(() => {});
    if (error instanceof VoxpipeError && error.code === 'bad-request') throw new ApiError(400, 'bad-request', error.message);
    if (gone) throw new ApiError(499, 'aborted', 'The request was aborted');
    logger.error(`synthesis failed before the first byte (key ${keyId}): ${describeError(error)}`);
    throw new ApiError(500, 'internal', 'Synthesis failed');
  }
  if (start.kind === 'past-end') {
    finish();
    // The tag lets a client that resumed just after the last byte prove the stream it has is whole.
    throw new ApiError(416, 'range-not-satisfiable', `The stream is ${start.total} bytes long`, { 'Content-Range': `bytes */${start.total}`, ...(plan.tag ? { ETag: plan.tag } : {}) });
  }

  const release = options.takeStreamSlot();
  const tag = plan.tag;
  const source = start.kind === 'whole' && cache && tag ? recorded(start.reader, start.first, cache, (whole) => cache.put(tag, whole)) : start.reader;
  const audioBody = bodyFrom(start.first, source, undefined, () => {
    release();
    finish();
    logger.debug?.(`stream key=${keyId} model=${model.id} format=${audio.format} ${Math.round(performance.now() - started)} ms`);
  });
  if (words && start.kind === 'range') words.end(); // the range is made: its words are all in
  const lines =
    words &&
    timestampedLines(audioBody, words, start.kind === 'range' ? { firstByte: start.firstByte, endByte: start.total === undefined ? start.lastByte + 1 : Infinity } : { firstByte: 0 });
  const body = guardBody(
    lines ?? audioBody,
    {
      idleTimeoutMs: options.idleTimeoutMs,
      onIdle() {
        options.streams.countIdleCut();
        logger.warn(`stream ended (key ${keyId}, model ${model.id}): the client read nothing for ${options.idleTimeoutMs / 1000} s`);
      },
      onFailure(error) {
        logger.error(`stream failed mid-way (key ${keyId}, model ${model.id}): ${describeError(error)}`);
      },
      abortConnection: options.abortConnection,
    },
  );
  const headers = streamHeaders(plan, cache ? 'miss' : undefined);
  if (start.kind === 'range') {
    headers['Content-Range'] = `bytes ${start.firstByte}-${start.lastByte}/${start.total ?? '*'}`;
    // Content-Range counts audio bytes; a body of lines is longer.
    if (!words) headers['Content-Length'] = String(start.lastByte - start.firstByte + 1);
  }
  if (words) {
    headers['Content-Type'] = 'application/x-ndjson';
    headers['X-Audio-Content-Type'] = CONTENT_TYPES[audio.format];
    // A decoder gives MP3's samples this much later than the PCM the words are timed on: clients add it to land on the sound.
    if (audio.format === 'mp3') headers['X-Audio-Delay-Samples'] = String(MP3_DELAY_SAMPLES);
  }
  return new Response(body, { status: start.kind === 'range' ? 206 : 200, headers });
}

/** The headers of every stream response: the audio's, the model, the ETag, and whether the cache had it. */
function streamHeaders(plan: StreamPlan, cache: 'hit' | 'miss' | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    ...audioHeaders(plan.audio.format),
    'Cache-Control': 'no-store',
    'Accept-Ranges': 'bytes',
    'X-Model': plan.model.id,
    'X-Content-Type-Options': 'nosniff',
  };
  // Strong: the same tag is the same bytes (the engine is deterministic for its build), on 200 and 206 alike.
  if (plan.tag) headers.ETag = plan.tag;
  if (cache) headers['X-Cache'] = cache;
  return headers;
}

/** A stream from the cache: the whole of it (200), a range with the total known (206), or 416 past its end. */
function cachedResponse(plan: StreamPlan, bytes: Uint8Array): Response {
  const headers = streamHeaders(plan, 'hit');
  const { range } = plan;
  if (!range) return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers: { ...headers, 'Content-Length': String(bytes.byteLength) } });
  if (range.start >= bytes.byteLength) {
    throw new ApiError(416, 'range-not-satisfiable', `The stream is ${bytes.byteLength} bytes long`, { 'Content-Range': `bytes */${bytes.byteLength}`, ETag: plan.tag! });
  }
  const last = Math.min(bytes.byteLength - 1, range.end ?? Infinity);
  const part = bytes.subarray(range.start, last + 1);
  return new Response(part as Uint8Array<ArrayBuffer>, { status: 206, headers: { ...headers, 'Content-Range': `bytes ${range.start}-${last}/${bytes.byteLength}`, 'Content-Length': String(part.byteLength) } });
}

/**
 * The reader's bytes as they are read, also kept (with `first`, already read)
 * until the stream ends whole, when `onWhole` gets them joined; a stream the
 * cache has no room to record, cancelled or failed is not kept.
 */
function recorded(reader: ReadableStreamDefaultReader<Uint8Array>, first: Uint8Array | undefined, cache: AudioCache, onWhole: (bytes: Uint8Array) => void): ReadableStreamDefaultReader<Uint8Array> {
  let parts: Uint8Array[] | undefined = [];
  let size = 0;
  const keep = (part: Uint8Array) => {
    if (!parts) return;
    if (cache.reserve(part.byteLength)) {
      parts.push(part);
      size += part.byteLength;
    } else drop();
  };
  const drop = () => {
    parts = undefined;
    cache.unreserve(size);
    size = 0;
  };
  if (first) keep(first);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          drop();
          throw error;
        }
        if (read.done) {
          if (parts) {
            const whole = new Uint8Array(size);
            let at = 0;
            for (const part of parts) {
              whole.set(part, at);
              at += part.byteLength;
            }
            drop();
            onWhole(whole);
          }
          return controller.close();
        }
        keep(read.value);
        controller.enqueue(read.value);
      },
      cancel(reason) {
        drop();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  ).getReader();
}
