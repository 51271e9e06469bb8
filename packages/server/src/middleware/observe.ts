import { randomBytes } from 'node:crypto';
import { ReadableStream } from '@voxpipe/core';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import type { Logger, RequestLine } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';

export interface ObserveOptions {
  logger: Logger;
  metrics?: ServerMetrics;
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Follows every request to its end: gives it an id (the client's
 * `X-Request-Id` when it is a plain token of at most 64 characters, else a
 * new one; sent back in `X-Request-Id`), counts the body bytes as they leave
 * and the time to the first, and when the body ends (or at once, for a
 * response without one) writes one request line (`logger.request`) and feeds
 * the metrics. The model and format come from the response's `X-Model` and
 * `X-Audio-Format`, so every audio route is counted the same way. First in
 * the app.
 *
 * ```ts
 * app.use('*', observeRequests({ logger, metrics }));
 * ```
 */
export function observeRequests(options: ObserveOptions) {
  const { logger, metrics } = options;
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && CLIENT_ID.test(given) ? given : randomBytes(8).toString('hex');
    c.set('requestId', requestId);
    await next();
    const res = c.res;
    const error = c.error;
    const line: Omit<RequestLine, 'bytes' | 'durationMs' | 'outcome'> = {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: res.status,
      ...(error instanceof ApiError ? { code: error.code } : res.status === 499 ? { code: 'aborted' } : error ? { code: 'internal' } : {}),
      ...(c.var.keyId ? { keyId: c.var.keyId } : {}),
      ...(res.headers.get('x-model') ? { model: res.headers.get('x-model')! } : {}),
      ...(res.headers.get('x-audio-format') ? { format: res.headers.get('x-audio-format')! } : {}),
      ...(res.headers.get('x-cache') === 'hit' ? { cached: true } : {}),
    };
    const done = (bytes: number, ttfbMs: number | undefined, outcome: RequestLine['outcome']) => {
      const finished: RequestLine = { ...line, bytes, ...(ttfbMs === undefined ? {} : { ttfbMs: round(ttfbMs) }), durationMs: round(performance.now() - started), outcome };
      logger.request?.(finished);
      metrics?.response(finished);
    };
    const headers = new Headers(res.headers);
    headers.set('X-Request-Id', requestId);
    if (!res.body) {
      c.res = undefined;
      c.res = new Response(null, { status: res.status, statusText: res.statusText, headers });
      done(0, undefined, 'complete');
      return;
    }
    c.res = undefined;
    c.res = new Response(counted(res.body, started, done), { status: res.status, statusText: res.statusText, headers });
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The body as it was, pulled one chunk at a time (no buffering of its own), counting bytes and the time to the first. */
function counted(body: ReadableStream<Uint8Array>, started: number, done: (bytes: number, ttfbMs: number | undefined, outcome: RequestLine['outcome']) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ttfbMs: number | undefined;
  let over = false;
  const end = (outcome: RequestLine['outcome']) => {
    if (over) return;
    over = true;
    done(bytes, ttfbMs, outcome);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: finished, value } = await reader.read();
          if (finished) {
            end('complete');
            return controller.close();
          }
          if (ttfbMs === undefined && value.byteLength > 0) ttfbMs = performance.now() - started;
          bytes += value.byteLength;
          controller.enqueue(value);
        } catch (error) {
          end('failed');
          controller.error(error);
        }
      },
      async cancel(reason) {
        end('cancelled');
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
