import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import type { Limiter, Refusal } from '../limiter.js';

/**
 * Refuses a body over `maxBytes` with 413 `payload-too-large`: at once by its
 * `Content-Length`, or while reading a body streamed without one.
 *
 * ```ts
 * app.post('/v1/tokens', limitBody(4096), handler);
 * ```
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'payload-too-large', `The request body is larger than ${maxBytes} bytes`);
    },
  });
}

function tooMany(refused: Refusal): ApiError {
  return new ApiError(429, refused.reason === 'rate' ? 'rate-limited' : 'too-many-streams', refused.message, { 'Retry-After': String(refused.retryAfter) });
}

/**
 * Takes one request from the key's rate budget (after `requireKey`), or
 * refuses with 429 `rate-limited` and `Retry-After`.
 *
 * ```ts
 * app.post('/v1/tokens', requireKey({ keys }), rateLimit(limiter), handler);
 * ```
 */
export function rateLimit(limiter: Limiter) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const refused = limiter.take(c.var.keyId);
    if (refused) throw tooMany(refused);
    await next();
  });
}

/**
 * Takes a request and a stream slot for the key (after `requireKey`), or
 * refuses with 429 (`rate-limited` or `too-many-streams`) and `Retry-After`.
 * The handler hands the slot to its response body with
 * `c.var.takeStreamSlot()`; a slot not taken is given back when the handler
 * returns, whatever it returned or threw.
 *
 * ```ts
 * app.post('/v1/tts/stream', requireKey({ keys }), streamSlot(limiter), (c) => respond(c, c.var.takeStreamSlot));
 * ```
 */
export function streamSlot(limiter: Limiter) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const admitted = limiter.admit(c.var.keyId);
    if ('reason' in admitted) throw tooMany(admitted);
    let handedOver = false;
    c.set('takeStreamSlot', () => {
      handedOver = true;
      return admitted.release;
    });
    try {
      await next();
    } finally {
      if (!handedOver) admitted.release();
    }
  });
}

/**
 * Refuses new work with 503 `unavailable` (and `Retry-After: 5`) once
 * `closing()` says the server is shutting down.
 *
 * ```ts
 * app.post('/v1/tts/stream', openUntilClosing(() => closed), handler);
 * ```
 */
export function openUntilClosing(closing: () => boolean) {
  return createMiddleware<AppEnv>(async (_c, next) => {
    if (closing()) throw new ApiError(503, 'unavailable', 'The server is shutting down', { 'Retry-After': '5' });
    await next();
  });
}
