// Browser-test plumbing: a small node:http server on 127.0.0.1 for pages and
// esbuild bundles (the browsers themselves: chromium.ts, firefox.ts).
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';

/** Bundles a browser entry point in memory (one ESM file). */
export async function bundle(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: ['chrome110', 'firefox115'], write: false, logLevel: 'silent' });
  return result.outputFiles[0].text;
}

export interface Route {
  type: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface PageServer {
  url: string;
  /** Adds or replaces what a path answers. */
  set(path: string, route: Route): void;
  /** Passes requests under `prefix` (e.g. `/v1/`) on to `origin`, streamed both ways, as a same-origin API would be. */
  forward(prefix: string, origin: string): void;
  close(): Promise<void>;
}

/** Serves fixed routes on 127.0.0.1 (port 0). `?isolated` on any URL adds COOP/COEP, making the page crossOriginIsolated. */
export async function startPageServer(routes: Record<string, Route> = {}): Promise<PageServer> {
  const table = new Map(Object.entries(routes));
  const forwards = new Map<string, string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = [...forwards.keys()].find((p) => url.pathname.startsWith(p));
    if (prefix) {
      const to = new URL(forwards.get(prefix)!);
      const upstream = forward({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, host: to.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
      return;
    }
    const route = table.get(url.pathname);
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': route.type, 'Cache-Control': 'no-store', ...route.headers };
    if (url.searchParams.has('isolated') || req.headers.referer?.includes('isolated')) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    res.writeHead(200, headers).end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (path, route) => void table.set(path, route),
    forward: (prefix, origin) => void forwards.set(prefix, origin),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
