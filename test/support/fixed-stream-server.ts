// A tiny deterministic stand-in for /v1/tts/stream: POST answers a fixed byte
// stream (chunked, like live synthesis), honours `Range: bytes=N-` with 206
// (or ignores it, to test clients against servers that answer 200), and checks
// X-API-Key. For client tests that should not depend on a speech engine.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixedStreamServerOptions {
  body: Uint8Array;
  /** Default `application/octet-stream`. */
  contentType?: string;
  /** Extra response headers, e.g. `{ 'x-sample-rate': '24000' }`. */
  headers?: Record<string, string>;
  /** When set, requests without this X-API-Key get 401. */
  apiKey?: string;
  /** Honour Range with 206 (default true); false answers 200 with the whole body. */
  ranges?: boolean;
  /** Bytes per write (default 1024). */
  chunkSize?: number;
  /** Send Content-Length instead of streaming chunked (default false). */
  contentLength?: boolean;
}

export interface FixedRequest {
  range?: string;
  apiKey?: string;
  json: unknown;
}

export interface FixedStreamServer {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  /** Every request, in order. */
  requests: FixedRequest[];
  close(): Promise<void>;
}

export async function startFixedStreamServer(options: FixedStreamServerOptions): Promise<FixedStreamServer> {
  const requests: FixedRequest[] = [];
  const body = options.body;
  const step = Math.max(1, options.chunkSize ?? 1024);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readText(req);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const range = header(req, 'range');
    const apiKey = header(req, 'x-api-key');
    requests.push({ range, apiKey, json });
    if (req.method !== 'POST' || req.url !== '/v1/tts/stream') return sendJson(res, 404, { error: { code: 'not-found', message: 'no such route' } });
    if (options.apiKey !== undefined && apiKey !== options.apiKey) return sendJson(res, 401, { error: { code: 'auth', message: 'bad api key' } });
    if (!json || typeof (json as { text?: unknown }).text !== 'string') return sendJson(res, 400, { error: { code: 'bad-request', message: 'text is required' } });

    let start = 0;
    const match = range?.match(/^bytes=(\d+)-$/);
    if (match && options.ranges !== false) {
      start = Number(match[1]);
      if (start >= body.byteLength && body.byteLength > 0) {
        res.writeHead(416, { 'content-range': `bytes */${body.byteLength}` });
        return void res.end();
      }
    }
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/octet-stream', 'accept-ranges': 'bytes', ...options.headers };
    if (options.contentLength) headers['content-length'] = String(body.byteLength - start);
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    for (let i = start; i < body.byteLength; i += step) {
      if (res.destroyed) return;
      if (!res.write(body.subarray(i, Math.min(body.byteLength, i + step)))) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
