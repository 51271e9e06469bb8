// A fault-injecting HTTP proxy on 127.0.0.1 for client tests: each request
// takes the next FaultPlan from a queue (requests past the queue pass through)
// and the proxy drops, resets, stalls or slices the response body exactly at
// the planned body byte, or answers for the server (e.g. 503 + Retry-After);
// it can also change the request on its way (another text, headers removed).
//
//   const proxy = await startFaultProxy(server.url);
//   proxy.plan({ dropAfter: 1000 }, { resetAfter: 5 }, {}); // 1st drops, 2nd resets, 3rd passes
//   ttsSource({ baseUrl: proxy.url, … })
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does to one request. Body byte counts are of the response body (not headers or chunk framing). */
export interface FaultPlan {
  /** Ends the connection (FIN) once this many body bytes were forwarded. */
  dropAfter?: number;
  /** Resets the connection (RST) once this many body bytes were forwarded. */
  resetAfter?: number;
  /** Stops forwarding once this many body bytes were forwarded… */
  stallAfter?: number;
  /** …for this long (default: until the client goes away). */
  stallMs?: number;
  /** Forwards the body one byte per write. */
  slice?: boolean;
  /** Destroys the connection on arrival, without an answer. */
  refuse?: boolean;
  /** Answers this instead of forwarding. */
  respond?: { status: number; headers?: Record<string, string>; body?: string };
  /** Forwards the JSON request body with these fields replaced (e.g. `{ text: 'Another text.' }`). */
  rewrite?: Record<string, unknown>;
  /** Forwards the request without these headers (lower case, e.g. `['if-range']`). */
  dropHeaders?: string[];
}

export interface ProxyLogEntry {
  plan: FaultPlan;
  range?: string;
  /** The If-Range the client sent. */
  ifRange?: string;
  /** The response's ETag. */
  etag?: string;
  status?: number;
  /** Body bytes forwarded to the client. */
  bodyBytes: number;
  /** Writes made to the client (one per byte when slicing). */
  writes: number;
  /** The fault that happened, if one did. */
  fault?: 'drop' | 'reset' | 'stall' | 'refuse' | 'respond';
}

export interface FaultProxy {
  /** e.g. `http://127.0.0.1:40123`; use it as the client's baseUrl. */
  url: string;
  /** Queues plans for the next requests, in order. */
  plan(...plans: FaultPlan[]): void;
  /**
   * Plans not yet used: each request takes the next one. A client that needs no more requests (e.g. after a 416 says
   * the stream has ended) leaves the rest here, so plan only cuts the client will meet.
   */
  pending(): number;
  /** One entry per request, in order. */
  readonly log: ProxyLogEntry[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const queue: FaultPlan[] = [];
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const plan = queue.shift() ?? {};
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    const entry: ProxyLogEntry = { plan, range: Array.isArray(range) ? range[0] : range, ifRange: Array.isArray(ifRange) ? ifRange[0] : ifRange, bodyBytes: 0, writes: 0 };
    log.push(entry);
    handle(req, res, plan, entry).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, plan: FaultPlan, entry: ProxyLogEntry): Promise<void> {
    if (plan.refuse) {
      entry.fault = 'refuse';
      req.socket.destroy();
      return;
    }
    if (plan.respond) {
      entry.fault = 'respond';
      entry.status = plan.respond.status;
      req.resume();
      res.writeHead(plan.respond.status, { 'content-type': 'application/json', ...plan.respond.headers });
      res.end(plan.respond.body ?? JSON.stringify({ error: { code: 'proxy', message: `HTTP ${plan.respond.status} from the fault proxy` } }));
      return;
    }
    const up = await forwardRequest(req, plan);
    entry.status = up.statusCode;
    const etag = up.headers.etag;
    entry.etag = Array.isArray(etag) ? etag[0] : etag;
    res.writeHead(up.statusCode ?? 502, copyHeaders(up.headers));
    res.flushHeaders();
    let stalled = false;
    const gone = () => res.destroyed || res.writableEnded || req.socket.destroyed;
    for await (const data of up as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < data.byteLength) {
        if (gone()) return void up.destroy();
        const sent = entry.bodyBytes;
        if (plan.stallAfter !== undefined && !stalled && sent >= plan.stallAfter) {
          stalled = true;
          entry.fault = 'stall';
          await waitOrClose(res, plan.stallMs);
          continue;
        }
        if (plan.dropAfter !== undefined && sent >= plan.dropAfter) return drop(req, res, up, entry);
        if (plan.resetAfter !== undefined && sent >= plan.resetAfter) return reset(req, up, entry);
        const next = Math.min(...[plan.dropAfter, plan.resetAfter, stalled ? undefined : plan.stallAfter].filter((n): n is number => n !== undefined && n > sent));
        const n = Math.min(data.byteLength - offset, next - sent, plan.slice ? 1 : Infinity);
        const ok = res.write(data.subarray(offset, offset + n));
        entry.bodyBytes += n;
        entry.writes++;
        offset += n;
        if (!ok) await waitOrClose(res, undefined, 'drain');
      }
    }
    // The body is complete: a fault planned at its very end still happens before the final chunk.
    if (plan.stallAfter !== undefined && !stalled && entry.bodyBytes >= plan.stallAfter) {
      entry.fault = 'stall';
      await waitOrClose(res, plan.stallMs);
    }
    if (gone()) return;
    if (plan.dropAfter !== undefined && entry.bodyBytes >= plan.dropAfter) return drop(req, res, up, entry);
    if (plan.resetAfter !== undefined && entry.bodyBytes >= plan.resetAfter) return reset(req, up, entry);
    res.end();
  }

  async function forwardRequest(req: IncomingMessage, plan: FaultPlan): Promise<IncomingMessage> {
    const headers = copyHeaders(req.headers);
    headers.host = upstream.host;
    for (const name of plan.dropHeaders ?? []) delete headers[name];
    let body: Buffer | undefined;
    if (plan.rewrite) {
      const parts: Buffer[] = [];
      for await (const part of req as AsyncIterable<Buffer>) parts.push(part);
      body = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.concat(parts).toString('utf8')), ...plan.rewrite }));
      headers['content-length'] = String(body.byteLength);
    }
    return new Promise((resolve, reject) => {
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false }, resolve);
      out.on('error', reject);
      if (body) return void out.end(body);
      req.on('close', () => {
        if (!req.complete) out.destroy();
      });
      req.pipe(out);
    });
  }

  return {
    url: `http://127.0.0.1:${await listen(server)}`,
    plan: (...plans) => void queue.push(...plans),
    pending: () => queue.length,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function drop(req: IncomingMessage, res: ServerResponse, up: IncomingMessage, entry: ProxyLogEntry): void {
  entry.fault = 'drop';
  up.destroy();
  // end the socket itself (not the response): the bytes written so far are flushed, then FIN, with no final chunk
  req.socket.end();
  res.on('error', () => {});
}

function reset(req: IncomingMessage, up: IncomingMessage, entry: ProxyLogEntry): void {
  entry.fault = 'reset';
  up.destroy();
  req.socket.resetAndDestroy();
}

function copyHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function waitOrClose(res: ServerResponse, ms: number | undefined, event?: 'drain'): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      if (timer) clearTimeout(timer);
      res.off('close', done);
      if (event) res.off(event, done);
      resolve();
    };
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    res.once('close', done);
    if (event) res.once(event, done);
  });
}

function listen(server: ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
