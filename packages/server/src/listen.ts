import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { VoxpipeError } from '@voxpipe/core';

export interface ListenOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: only this machine. Use 0.0.0.0 to serve the network. */
  host?: string;
}

/** An HTTP server that is listening, with the URL to reach it at. */
export interface BoundServer {
  http: Server;
  url: string;
  port: number;
  /** Stops listening and ends every open connection (which cancels their streams). */
  close(): Promise<void>;
}

/** How long an idle keep-alive connection stays open (Node's default is 5 s). */
export const KEEP_ALIVE_MS = 65_000;

/** How long a client may take over a request, against slow clients that hold connections open. */
export interface HttpTimeouts {
  /** From the first byte of a request to the end of its headers (an idle keep-alive connection is not counted: `KEEP_ALIVE_MS` governs it). */
  headersTimeoutMs: number;
  /** From the first byte of a request to the end of its body: a backstop behind the body reader's own deadline. */
  requestTimeoutMs: number;
}

/** The timeouts for a server whose body reader gives up after `bodyTimeoutMs`: Node's own request limit comes a little after it, so the reader's JSON 408 is what a slow client sees. */
export function httpTimeouts(headersTimeoutMs: number, bodyTimeoutMs: number): HttpTimeouts {
  return { headersTimeoutMs, requestTimeoutMs: headersTimeoutMs + bodyTimeoutMs + 5000 };
}

/** A standard fetch handler, as `app.fetch` is (declared here so the package's types need no DOM lib and no server library's). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the environment is the server library's own
export type FetchHandler = (request: Request, env: any) => Response | Promise<Response>;

/**
 * Serves a fetch handler over HTTP on Node (`@hono/node-server`) and
 * resolves once it listens; a failure to listen is a `network` VoxpipeError
 * that says what to do. A client slower than `timeouts` with its headers
 * (or its whole request) is answered 408 and closed; idle keep-alive
 * connections stay open `KEEP_ALIVE_MS`.
 *
 * ```ts
 * const { url, close } = await bindHttp(app.fetch, { port: 0 }, httpTimeouts(20_000, 20_000));
 * ```
 */
export async function bindHttp(fetch: FetchHandler, options: ListenOptions = {}, timeouts: HttpTimeouts = httpTimeouts(20_000, 20_000)): Promise<BoundServer> {
  const host = options.host ?? '127.0.0.1';
  const requested = options.port ?? 0;
  const serverOptions = {
    // Keep idle connections longer than the common 60 s of proxies and client pools, so a pooled client never sends a
    // request on a connection the server is closing at that moment (fetch does not retry a POST). Node counts the
    // headers timeout from a request's first byte, so an idle pooled connection is not cut by it.
    keepAliveTimeout: KEEP_ALIVE_MS,
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: Math.max(timeouts.requestTimeoutMs, timeouts.headersTimeoutMs),
    // How often Node looks for connections past those timeouts (its default, 30 s, would let a short timeout run long).
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(timeouts.headersTimeoutMs / 4))),
  };
  const http = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch, port: requested, hostname: host, overrideGlobalObjects: false, serverOptions }) as Server;
    s.once('listening', () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, requested)));
  });
  http.keepAliveTimeout = KEEP_ALIVE_MS;
  // `Expect: 100-continue`: no automatic "100 Continue" from Node; the request goes to the app like any other, whose
  // body reader sends it once the key is checked, so a refused client (curl, for one) never sends its body.
  http.on('checkContinue', (request, response) => http.emit('request', request, response));
  const port = (http.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    http,
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/** A listen failure in words: the port in use, a port that needs privileges, an address this machine does not have. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): VoxpipeError {
  const where = `${host}:${port}`;
  const said: Record<string, string> = {
    EADDRINUSE: `Port ${port} on ${host} is already in use: stop the other server or pick another port (--port, or 0 for any free one)`,
    EACCES: `Not allowed to listen on ${where}: ports below 1024 need privileges; pick a port above 1024`,
    EADDRNOTAVAIL: `Cannot listen on ${where}: this machine has no such address`,
  };
  return new VoxpipeError('network', said[error.code ?? ''] ?? `Cannot listen on ${where}: ${error.message}`, { cause: error, retryable: false });
}
