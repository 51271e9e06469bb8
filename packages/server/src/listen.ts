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

/** A standard fetch handler, as `app.fetch` is (declared here so the package's types need no DOM lib and no server library's). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the environment is the server library's own
export type FetchHandler = (request: Request, env: any) => Response | Promise<Response>;

/**
 * Serves a fetch handler over HTTP on Node (`@hono/node-server`) and
 * resolves once it listens; a failure to listen is a `network` VoxpipeError
 * that says what to do.
 *
 * ```ts
 * const { url, close } = await bindHttp(app.fetch, { port: 0 });
 * ```
 */
export async function bindHttp(fetch: FetchHandler, options: ListenOptions = {}): Promise<BoundServer> {
  const host = options.host ?? '127.0.0.1';
  const requested = options.port ?? 0;
  const http = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch, port: requested, hostname: host, overrideGlobalObjects: false }) as Server;
    s.once('listening', () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, requested)));
  });
  // Keep idle connections longer than the common 60 s of proxies and client pools, so a pooled client never sends a
  // request on a connection the server is closing at that moment (fetch does not retry a POST).
  http.keepAliveTimeout = KEEP_ALIVE_MS;
  http.headersTimeout = KEEP_ALIVE_MS + 1000;
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
