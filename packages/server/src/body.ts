import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { ApiError } from './api-error.js';
import type { AppEnv } from './app-env.js';

export interface BodyLimits {
  /** Most bytes read: a longer body is 413 `payload-too-large`. */
  maxBytes: number;
  /** A body not all arrived this long after reading began is 408 `request-timeout`. */
  timeoutMs: number;
}

/**
 * The body broke off: the client closed the connection before it had all
 * arrived (or sent a malformed chunk, which ends it too). Nobody is left to
 * answer, so the error mapping logs it in one line (no stack) and sends
 * nothing that matters.
 */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';
  /** Body bytes that had arrived. */
  readonly received: number;

  constructor(received: number, cause?: unknown) {
    const code = (cause as { code?: unknown } | undefined)?.code;
    super(`the client closed the connection after ${received} bytes of its body${typeof code === 'string' ? ` (${code})` : ''}`, { cause });
    this.received = received;
  }
}

const tooLarge = (maxBytes: number) => new ApiError(413, 'payload-too-large', `The request body is larger than ${maxBytes} bytes`);
const tooSlow = (timeoutMs: number) => new ApiError(408, 'request-timeout', `The request body did not arrive within ${timeoutMs / 1000} s`);

/**
 * Reads a request's body, bounded: at most `maxBytes` (413
 * `payload-too-large` at once by `Content-Length`, or as soon as a body sent
 * without one passes the limit), within `timeoutMs` (408
 * `request-timeout`); a client that closes the connection mid-body is a
 * `ClientGone`. On Node it reads the request itself (the socket stays
 * paused when it stops early, so what was not read costs nothing) and sends
 * the `100 Continue` a client with `Expect: 100-continue` waits for; called
 * without a Node server it reads the Request's stream the same way.
 *
 * ```ts
 * const bytes = await readBody(c, { maxBytes: 64 * 1024, timeoutMs: 20_000 });
 * ```
 */
export async function readBody(c: Context<AppEnv>, limits: BodyLimits): Promise<Uint8Array> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const incoming = c.env?.incoming;
  if (!incoming) return readStream(c.req.raw.body, limits);
  // The client waits for this before it sends the body (the server does not send it on its own: see listen.ts).
  if (/100-continue/i.test(incoming.headers.expect ?? '')) c.env?.outgoing?.writeContinue?.();
  return readIncoming(incoming, limits);
}

function readIncoming(incoming: IncomingMessage, { maxBytes, timeoutMs }: BodyLimits): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onGone);
      incoming.off('close', onGone);
      if (!error) return resolve(Buffer.concat(chunks, size));
      // Leave the rest unread: the response closes the connection (see closeWhenBodyUnread).
      incoming.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) finish(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onGone = (cause?: unknown) => finish(new ClientGone(size, cause));
    const timer = setTimeout(() => finish(tooSlow(timeoutMs)), timeoutMs);
    if (incoming.readableEnded) return finish();
    if (incoming.destroyed) return onGone(incoming.errored);
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onGone);
    incoming.on('close', onGone);
  });
}

async function readStream(body: ReadableStream<Uint8Array> | null, { maxBytes, timeoutMs }: BodyLimits): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(tooSlow(timeoutMs)), timeoutMs);
  });
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await Promise.race([reader.read(), late]);
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new ClientGone(size, error);
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(next.value);
    }
  } catch (error) {
    void reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
