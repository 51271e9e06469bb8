// A tiny deterministic stand-in for /v1/tts/stream: POST answers a fixed byte
// stream (chunked, like live synthesis) — or one per text — with a strong ETag
// of its bytes, honours `Range: bytes=N-` with 206 and `If-Range` (or ignores
// either, or sends no ETag, to test clients against servers that do less), and
// checks X-API-Key. For client tests that should not depend on a speech engine.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixedStreamServerOptions {
  body: Uint8Array;
  /** The stream for a request's text instead of `body` (e.g. another stream when a proxy changed the text). */
  bodyFor?: (text: string) => Uint8Array;
  /** Send a strong ETag (a digest of the stream's bytes) on 200 and 206 (default true). */
  etag?: boolean;
  /** Honour If-Range: a Range whose If-Range is not the stream's ETag gets 200 with the whole stream (default true). */
  ifRange?: boolean;
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
  ifRange?: string;
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
    const ifRange = header(req, 'if-range');
    const apiKey = header(req, 'x-api-key');
    requests.push({ range, ifRange, apiKey, json });
    if (req.method !== 'POST' || req.url !== '/v1/tts/stream') return sendJson(res, 404, { error: { code: 'not-found', message: 'no such route' } });
    if (options.apiKey !== undefined && apiKey !== options.apiKey) return sendJson(res, 401, { error: { code: 'auth', message: 'bad api key' } });
    if (!json || typeof (json as { text?: unknown }).text !== 'string') return sendJson(res, 400, { error: { code: 'bad-request', message: 'text is required' } });

    const body = options.bodyFor ? options.bodyFor((json as { text: string }).text) : options.body;
    const etag = options.etag === false ? undefined : `"${createHash('sha256').update(body).digest('base64url')}"`;
    const tagged: Record<string, string> = etag ? { etag } : {};
    let start = 0;
    const match = range?.match(/^bytes=(\d+)-$/);
    const rangeHolds = ifRange === undefined || options.ifRange === false || ifRange === etag;
    if (match && options.ranges !== false && rangeHolds) {
      start = Number(match[1]);
      if (start >= body.byteLength && body.byteLength > 0) {
        res.writeHead(416, { 'content-range': `bytes */${body.byteLength}`, ...tagged });
        return void res.end();
      }
    }
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/octet-stream', 'accept-ranges': 'bytes', ...tagged, ...options.headers };
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
