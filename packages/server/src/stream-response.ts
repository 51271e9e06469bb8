import { VoxpipeError } from '@voxpipe/core';
import { ApiError } from './api-error.js';
import { audioBytes, audioHeaders, maxBytes, type Decorate } from './audio.js';
import { guardBody } from './guard.js';
import { describeError, type Logger } from './logger.js';
import type { OpenStreams } from './open-streams.js';
import { bodyFrom, firstBytes, readRange, type RangedStart } from './range.js';
import type { StreamPlan } from './stream-plan.js';

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
}

/**
 * Starts making a planned stream and answers with it. The whole stream: 200
 * once the first byte is ready, the audio streamed as it is made. A range:
 * 206 once the range is made to its end, so `Content-Range` names exactly
 * the bytes sent (and the total, when the range reaches the end); a range
 * past what the text could ever give is refused at once, without
 * synthesis. Before the first byte, failures are still errors: 400 for a
 * request the engine refuses, 416 for a range past the end, 499 for a client
 * that left, 500 `internal` (logged, nothing of the cause told) for the
 * rest. After it, the guarded body ends the stream cleanly instead.
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
  const stop = new AbortController();
  const onClientGone = () => stop.abort(new VoxpipeError('aborted', 'The client went away'));
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  const untrack = options.streams.track(stop);
  const started = performance.now();
  const finish = () => {
    untrack();
    clientSignal.removeEventListener('abort', onClientGone);
  };

  const reader = audioBytes(engine, audio, {
    signal: stop.signal,
    owner: keyId,
    urgentMs: range ? Infinity : 0,
    decorate: options.decorate,
    onWarning: (stage, w) => logger.warn(`${stage}: ${w.code}: ${w.message}`),
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
  const body = guardBody(
    bodyFrom(start.first, start.reader, undefined, () => {
      release();
      finish();
      logger.debug?.(`stream key=${keyId} model=${model.id} format=${audio.format} ${Math.round(performance.now() - started)} ms`);
    }),
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
  const headers: Record<string, string> = {
    ...audioHeaders(audio.format),
    'Cache-Control': 'no-store',
    'Accept-Ranges': 'bytes',
    'X-Model': model.id,
    'X-Content-Type-Options': 'nosniff',
  };
  // Strong: the same tag is the same bytes (the engine is deterministic for its build), on 200 and 206 alike.
  if (plan.tag) headers.ETag = plan.tag;
  if (start.kind === 'range') {
    headers['Content-Range'] = `bytes ${start.firstByte}-${start.lastByte}/${start.total ?? '*'}`;
    headers['Content-Length'] = String(start.lastByte - start.firstByte + 1);
  }
  return new Response(body, { status: start.kind === 'range' ? 206 : 200, headers });
}
