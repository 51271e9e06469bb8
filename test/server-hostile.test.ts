// The /v1/tts/stream server under real and hostile HTTP clients, over real
// sockets (node:net, so nothing is smoothed over by a client library):
// chunked bodies without Content-Length and bare POSTs, bodies that drip or
// never come without a key (refused at once, connection closed, never read),
// slow headers and slow bodies (closed by the timeouts), a client leaving
// mid-body (one log line, no stack), failed-login floods (429 per address),
// case-insensitive formats and Range units the server does not know.
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../packages/server/src/index.js';
import { startTestServer, toneEngine, type TestServer } from '../packages/server/src/testing/index.js';
import { SETTLE } from './support/budgets.js';

const KEY = 'sk-hostile-test-0123456789';
const WRONG = 'sk-hostile-WRONG-000000000';
const ok = { text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
const okJson = JSON.stringify(ok);
/** Short limits, so a test that waits for one waits little; every wait below is bounded by SETTLE.timeout, far beyond them. */
const HEADERS_TIMEOUT_MS = 400;
const BODY_TIMEOUT_MS = 400;

const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m), debug: (m) => lines.push(m) };
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({
    engine: toneEngine(),
    keys: [KEY],
    logger,
    limits: { maxBodyBytes: 4096, burst: 1e6, requestsPerSecond: 1e6, headersTimeoutMs: HEADERS_TIMEOUT_MS, bodyTimeoutMs: BODY_TIMEOUT_MS, authFailures: 1e6 },
  });
});
afterAll(async () => {
  await t?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw connection: write what you like; read the first response as it arrives, and whether (and when) the server closed. */
class Raw {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  readonly closed: Promise<void>;
  /** Bytes written that the kernel accepted, and the first write error (the server closed on us). */
  writeError: NodeJS.ErrnoException | undefined;

  constructor(port: number, localAddress?: string) {
    this.socket = connect({ port, host: '127.0.0.1', localAddress });
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.on('error', (error: NodeJS.ErrnoException) => (this.writeError ??= error));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    void this.closed.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Everything received so far, as text. */
  text(): string {
    return this.received.toString('latin1');
  }

  write(text: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** The first complete response (bodies here have Content-Length or are chunked), or undefined if the connection closed first. */
  async response(): Promise<RawResponse | undefined> {
    const deadline = performance.now() + SETTLE.timeout;
    for (;;) {
      const parsed = parseResponse(this.received);
      if (parsed) return parsed;
      if (this.socket.destroyed || this.socket.readableEnded) return undefined;
      if (performance.now() > deadline) throw new Error(`no complete response within ${SETTLE.timeout} ms; got ${JSON.stringify(this.received.toString('latin1').slice(0, 200))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, SETTLE.interval * 4);
      });
    }
  }

  /** Resolves true once the server has closed the connection (within SETTLE.timeout), false if it is still open. */
  async closedByServer(): Promise<boolean> {
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), SETTLE.timeout).unref());
    return Promise.race([this.closed.then(() => true as const), timer]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function parseResponse(bytes: Buffer): RawResponse | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(statusLine.split(' ')[1]);
  let rest = bytes.subarray(end + 4);
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.byteLength < length) return undefined;
    return { status, headers, body: rest.subarray(0, length).toString('latin1') };
  }
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) return undefined;
      const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (size === 0) return rest.indexOf('\r\n\r\n') >= 0 ? { status, headers, body: Buffer.concat(parts).toString('latin1') } : undefined;
      if (rest.byteLength < lineEnd + 2 + size + 2) return undefined;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
  }
  return { status, headers, body: rest.toString('latin1') };
}

const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
const head = (path: string, headers: Record<string, string>) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
const codeOf = (res: RawResponse | undefined) => (JSON.parse(res!.body) as { error: { code: string } }).error.code;

afterEach(() => {
  lines.length = 0;
});

describe('bodies without Content-Length', () => {
  it('a chunked body (as Node fetch with a stream, Python requests with a generator, or a proxy sends it) is read: 200 audio', async () => {
    const raw = new Raw(t.listening.port);
    const pieces = [okJson.slice(0, 5), okJson.slice(5, 17), okJson.slice(17)];
    raw.write(head('/v1/tts/stream', { 'X-API-Key': KEY, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }) + pieces.map(chunk).join('') + '0\r\n\r\n');
    const res = await raw.response();
    expect(res?.status).toBe(200);
    expect(res?.headers['content-type']).toBe('audio/pcm; rate=24000; channels=1');
    expect(res?.body.length).toBe(ok.text.length * 0.01 * 24000 * 2);
    raw.destroy();
  });

  it('Node fetch with a stream body: 200', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(okJson.slice(0, 9)));
        controller.enqueue(new TextEncoder().encode(okJson.slice(9)));
        controller.close();
      },
    });
    const res = await fetch(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(ok.text.length * 0.01 * 24000 * 2);
  });

  it('a bare POST (no body at all) is a 401 without a key and a 400 invalid-json with one, on both routes; never a 500', async () => {
    for (const path of ['/v1/tts/stream', '/v1/tokens']) {
      const anonymous = new Raw(t.listening.port);
      anonymous.write(head(path, {}));
      const refused = await anonymous.response();
      expect([path, refused?.status, codeOf(refused)]).toEqual([path, 401, 'unauthorized']);
      anonymous.destroy();
      const keyed = new Raw(t.listening.port);
      keyed.write(head(path, { 'X-API-Key': KEY }));
      const bad = await keyed.response();
      expect([path, bad?.status, codeOf(bad)]).toEqual([path, 400, 'invalid-json']);
      // A request whose (empty) body is all there keeps its connection for the next one.
      expect(bad?.headers.connection).not.toBe('close');
      keyed.destroy();
    }
    expect(lines.filter((l) => /failed|internal/i.test(l))).toEqual([]);
  });

  it('a chunked body past maxBodyBytes is 413 payload-too-large as soon as it passes, and the connection is closed', async () => {
    const raw = new Raw(t.listening.port);
    raw.write(head('/v1/tts/stream', { 'X-API-Key': KEY, 'Transfer-Encoding': 'chunked' }) + chunk(`{"text":"${'x'.repeat(3000)}`));
    raw.write(chunk('y'.repeat(3000)));
    const res = await raw.response();
    expect(res?.status).toBe(413);
    expect(codeOf(res)).toBe('payload-too-large');
    expect(res?.headers.connection).toBe('close');
    expect(await raw.closedByServer()).toBe(true);
  });
});

describe('the key before the body', () => {
  it('a POST without a key is answered 401 from its headers alone, before any byte of its body is sent, and the connection is closed', async () => {
    for (const path of ['/v1/tts/stream', '/v1/tokens']) {
      for (const framing of [{ 'Transfer-Encoding': 'chunked' }, { 'Content-Length': '60000' }] as Array<Record<string, string>>) {
        const raw = new Raw(t.listening.port);
        raw.write(head(path, { 'Content-Type': 'application/json', ...framing }));
        const res = await raw.response();
        expect([path, res?.status, codeOf(res), res?.headers.connection]).toEqual([path, 401, 'unauthorized', 'close']);
        expect(await raw.closedByServer()).toBe(true);
      }
    }
  });

  it('a wrong key drip-feeding a chunked body is refused at once; the drip meets a closed connection', async () => {
    const raw = new Raw(t.listening.port);
    raw.write(head('/v1/tts/stream', { 'X-API-Key': WRONG, 'Transfer-Encoding': 'chunked' }) + chunk('{"te'));
    const drip = setInterval(() => raw.write(chunk('x'.repeat(64))), 20);
    try {
      const res = await raw.response();
      expect(res?.status).toBe(401);
      expect(res?.headers.connection).toBe('close');
      expect(await raw.closedByServer()).toBe(true);
    } finally {
      clearInterval(drip);
    }
  });

  it('a valid key still has its body read and answered when it arrives slowly, within bodyTimeoutMs', async () => {
    const raw = new Raw(t.listening.port);
    raw.write(head('/v1/tts/stream', { 'X-API-Key': KEY, 'Transfer-Encoding': 'chunked' }));
    const pieces = [okJson.slice(0, 10), okJson.slice(10, 20), okJson.slice(20)];
    for (const piece of pieces) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      raw.write(chunk(piece));
    }
    raw.write('0\r\n\r\n');
    expect((await raw.response())?.status).toBe(200);
    raw.destroy();
  });
});

describe('Expect: 100-continue (curl and other clients send it before large bodies)', () => {
  it('a key holder gets "100 Continue" once the key is checked, sends its body, and is served', async () => {
    const raw = new Raw(t.listening.port);
    raw.write(head('/v1/tts/stream', { 'X-API-Key': KEY, 'Content-Length': String(okJson.length), Expect: '100-continue' }));
    const interim = await raw.response();
    expect(interim?.status).toBe(100);
    raw.write(okJson);
    await vi.waitFor(() => expect(raw.text()).toMatch(/\r\n\r\nHTTP\/1\.1 200 OK/), SETTLE);
    raw.destroy();
  });

  it('a client without a key gets 401 and no "100 Continue": it never sends its body', async () => {
    const raw = new Raw(t.listening.port);
    raw.write(head('/v1/tts/stream', { 'Content-Length': '60000', Expect: '100-continue' }));
    const res = await raw.response();
    expect(res?.status).toBe(401);
    expect(await raw.closedByServer()).toBe(true);
    expect(raw.text()).not.toContain('100 Continue');
  });
});

describe('slow clients are cut by the timeouts', () => {
  it('headers that never end (slow-loris) get 408 and a closed connection after headersTimeoutMs', async () => {
    const raw = new Raw(t.listening.port);
    raw.write('POST /v1/tts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => raw.write('X-Slow: y\r\n'), 50);
    try {
      expect(await raw.closedByServer()).toBe(true);
      expect((await raw.response())?.status ?? 408).toBe(408);
    } finally {
      clearInterval(drip);
    }
  });

  it('a key-holder whose body stops coming gets 408 request-timeout after bodyTimeoutMs, and the connection is closed', async () => {
    const raw = new Raw(t.listening.port);
    raw.write(head('/v1/tts/stream', { 'X-API-Key': KEY, 'Content-Length': '100' }) + '{"text":');
    const res = await raw.response();
    expect(res?.status).toBe(408);
    expect(codeOf(res)).toBe('request-timeout');
    expect(res?.headers.connection).toBe('close');
    expect(await raw.closedByServer()).toBe(true);
    expect(t.server.openStreams).toBe(0);
  });

  it('a pooled keep-alive connection idle longer than the headers timeout is still reused', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(`${t.url}/v1/tts/stream`, { method: 'POST', agent, headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(okJson);
      });
    try {
      expect(await post()).toEqual({ status: 200, reused: false });
      await new Promise((resolve) => setTimeout(resolve, HEADERS_TIMEOUT_MS * 3));
      expect(await post()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});

describe('a client that leaves mid-body', () => {
  it('is one warn line, no stack, nothing on the console', async () => {
    const consoleSpies = (['log', 'info', 'warn', 'error'] as const).map((name) => vi.spyOn(console, name).mockImplementation(() => {}));
    try {
      const raw = new Raw(t.listening.port);
      raw.write(head('/v1/tts/stream', { 'X-API-Key': KEY, 'Content-Length': '200' }) + '{"text":"Hel');
      // Once the server has begun reading (its key checked), the client goes.
      await new Promise((resolve) => setTimeout(resolve, 50));
      raw.destroy();
      await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0), SETTLE);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(lines).toEqual(['POST /v1/tts/stream: the client closed the connection after 12 bytes of its body (ECONNRESET)']);
      for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of consoleSpies) spy.mockRestore();
    }
  });
});

describe('formats and ranges', () => {
  it('format is case-insensitive, as model names are: "PCM" is pcm', async () => {
    const res = await fetch(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify({ ...ok, format: 'PCM', model: 'AURA-LITE' }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-audio-format')).toBe('pcm');
    await res.arrayBuffer();
    const wav = await fetch(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify({ ...ok, format: 'Wav' }) });
    expect(wav.headers.get('x-audio-format')).toBe('wav');
    await wav.arrayBuffer();
  });

  it('a Range in a unit the server does not know (items=0-) is ignored: 200 with the whole stream', async () => {
    const post = (headers: Record<string, string>) => fetch(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, ...headers }, body: okJson });
    const whole = new Uint8Array(await (await post({})).arrayBuffer());
    const ranged = await post({ Range: 'items=0-' });
    expect(ranged.status).toBe(200);
    expect(ranged.headers.get('content-range')).toBeNull();
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(whole);
  });
});

describe('failed-login throttling', () => {
  let guarded: TestServer;
  const said: string[] = [];
  const FAILURES = 5;
  beforeAll(async () => {
    guarded = await startTestServer({
      engine: toneEngine(),
      keys: [KEY],
      logger: { info: (m) => said.push(m), warn: (m) => said.push(m), error: (m) => said.push(m) },
      trustProxy: true,
      limits: { burst: 1e6, requestsPerSecond: 1e6, authFailures: FAILURES, authFailureWindowMs: 60_000 },
    });
    said.length = 0; // the start-up line
  });
  afterAll(async () => {
    await guarded?.close();
  });
  const post = (key: string, forwardedFor?: string) =>
    fetch(`${guarded.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': key, ...(forwardedFor ? { 'X-Forwarded-For': forwardedFor } : {}) }, body: okJson });

  it('a flood of wrong keys from one address: 401s up to the limit, then 429 too-many-auth-failures with Retry-After, even for the right key; other addresses are not touched; one log line, no key', async () => {
    const flood: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await post(`${WRONG}-${i}`, '203.0.113.7, 10.0.0.1');
      flood.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toMatch(/^(5\d|60)$/);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too-many-auth-failures');
      } else await res.arrayBuffer();
    }
    expect(flood).toEqual([...Array<number>(FAILURES).fill(401), ...Array<number>(30 - FAILURES).fill(429)]);
    // Checked before the key: the right key from that address is refused too, and learns nothing.
    const right = await post(KEY, '203.0.113.7');
    expect(right.status).toBe(429);
    await right.arrayBuffer();
    // Another address, with the right key or a wrong one, is served as always.
    const other = await post(KEY, '198.51.100.2');
    expect(other.status).toBe(200);
    await other.arrayBuffer();
    const otherWrong = await post(WRONG, '198.51.100.2');
    expect(otherWrong.status).toBe(401);
    await otherWrong.arrayBuffer();
    expect(said).toEqual([expect.stringMatching(/^auth: 5 failed logins from 203\.0\.113\.7 in \d+ s; refusing its logins for 60 s \(429\)$/)]);
    expect(said.join('\n')).not.toContain('sk-hostile');
  });

  it("the socket's own address without trustProxy (a client binding 127.0.0.2 is another address; X-Forwarded-For changes nothing)", async () => {
    const plain = await startTestServer({
      engine: toneEngine(),
      keys: [KEY],
      logger: false,
      limits: { burst: 1e6, requestsPerSecond: 1e6, authFailures: 3 },
    });
    try {
      const statusFrom = async (localAddress: string, key: string, forwardedFor = `192.0.2.${Math.floor(Math.random() * 250)}`) => {
        const raw = new Raw(plain.listening.port, localAddress);
        raw.write(head('/v1/tts/stream', { 'X-API-Key': key, 'X-Forwarded-For': forwardedFor, 'Content-Length': String(okJson.length) }) + okJson);
        const res = await raw.response();
        raw.destroy();
        return res?.status;
      };
      const flood = [];
      for (let i = 0; i < 5; i++) flood.push(await statusFrom('127.0.0.2', WRONG));
      expect(flood).toEqual([401, 401, 401, 429, 429]);
      expect(await statusFrom('127.0.0.1', KEY)).toBe(200);
      expect(await statusFrom('127.0.0.2', KEY)).toBe(429);
    } finally {
      await plain.close();
    }
  });
});
