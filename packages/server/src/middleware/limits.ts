import type { Socket } from 'node:net';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import type { Limiter, Refusal } from '../limiter.js';

/** How long a connection closed with its body unread stays half-open after the response (see `closeWhenBodyUnread`). */
export const CLOSE_DELAY_MS = 500;

/**
 * Closes the connection after any response given before the request's body
 * had all arrived (a refusal before the body is read: 401, 429, 413, 408,
 * 503…): `Connection: close`, so the body is never read and a client that
 * drip-feeds it holds nothing open. The server sends its end of the
 * connection (FIN) with the response and closes the socket
 * `CLOSE_DELAY_MS` later (as Go's server does): closing at once with
 * unread bytes would send a reset that can make a client still uploading
 * lose the response. Requests whose body was read, or that have none, keep
 * their connection for the next request. Node only (it looks at the raw
 * request); first in the app.
 *
 * ```ts
 * app.use('*', closeWhenBodyUnread());
 * ```
 */
export function closeWhenBodyUnread() {
  return createMiddleware<AppEnv>(async (c, next) => {
    await next();
    const incoming = c.env?.incoming;
    if (!incoming || incoming.complete) return;
    closeSoftly(incoming.socket);
    try {
      c.res.headers.set('Connection', 'close');
    } catch {
      // A response with immutable headers: copy it.
      const res = c.res;
      c.res = undefined;
      c.res = new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
      c.res.headers.set('Connection', 'close');
    }
  });
}

/** Node's server ends a `Connection: close` response with `socket.destroySoon()`: make that a FIN now and the close a little later. */
function closeSoftly(socket: Socket | undefined): void {
  if (!socket || typeof socket.destroySoon !== 'function') return;
  socket.destroySoon = function closeAfterDelay(this: Socket) {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), CLOSE_DELAY_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

function tooMany(refused: Refusal): ApiError {
  const retry = { 'Retry-After': String(refused.retryAfter) };
  if (refused.reason === 'unavailable') return new ApiError(503, 'unavailable', refused.message, retry);
  return new ApiError(429, refused.reason === 'rate' ? 'rate-limited' : 'too-many-streams', refused.message, retry);
}

/**
 * Takes one request from the key's rate budget (after `requireKey`), or
 * refuses with 429 `rate-limited` and `Retry-After` (503 `unavailable`
 * when the shared store is down and the server was told to refuse then).
 *
 * ```ts
 * app.post('/v1/tokens', requireKey({ keys }), rateLimit(limiter), handler);
 * ```
 */
export function rateLimit(limiter: Limiter) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const refused = await limiter.take(c.var.keyId);
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
    const admitted = await limiter.admit(c.var.keyId);
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
