// Running the server in production, over real listening servers: the audio cache, GET /metrics and who may read it,
// one structured log line per request, and shutdown by SIGTERM (drain, then cut; the cut stream resumes elsewhere).
import { Writable } from 'node:stream';
import { ReadableStream, type PcmChunk } from '@voxpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { joinBytes } from '@voxpipe/core/testing';
import { createServer, type ListeningServer, type RequestLine, type VoxpipeServer } from '../packages/server/src/index.js';
import { jsonLogger, prettyLines } from '../packages/server/src/json-logger.js';
import { toneEngine } from '../packages/server/src/testing/tone-engine.js';
import { CHILD_MS, eventually, limitFor, RUN_MS, START_MS } from './support/budgets.js';
import { startInstance, type Instance } from './support/instances.js';
import { startTestServer, type TestServer } from './support/tts-server.js';

const KEY = 'ops-key-0123456789';
const running: Array<{ close(): Promise<void> }> = [];
const instances: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
  await Promise.all(instances.splice(0).map((i) => i.kill()));
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

async function listen(options: Parameters<typeof createServer>[0]): Promise<{ server: VoxpipeServer; url: string; listening: ListeningServer }> {
  const server = createServer({ keys: [KEY], env: {}, logger: false, ...options });
  const listening = await server.listen({ port: 0 });
  running.push(listening);
  return { server, url: listening.url, listening };
}

/** One sample's value from a Prometheus exposition: the line `name{labels} value`, labels as written. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the audio cache', () => {
  const body = { text: 'A sentence to be asked for again and again.', model: 'aura-lite', format: 'mp3' };

  it('serves a repeated request from memory without the engine, byte-identical, ranges included', async () => {
    const engine = toneEngine();
    const { url } = await listen({ engine, cache: { maxBytes: 1 << 20 } });
    const first = await post(url, body);
    expect(first.headers.get('x-cache')).toBe('miss');
    const whole = await bytesOf(first);
    const asked = engine.requests.length;
    const again = await post(url, body);
    expect([again.status, again.headers.get('x-cache'), again.headers.get('etag')]).toEqual([200, 'hit', first.headers.get('etag')]);
    expect(await bytesOf(again)).toEqual(whole);
    const tail = await post(url, body, { Range: 'bytes=1000-', 'If-Range': first.headers.get('etag')! });
    expect([tail.status, tail.headers.get('x-cache'), tail.headers.get('content-range')]).toEqual([206, 'hit', `bytes 1000-${whole.byteLength - 1}/${whole.byteLength}`]);
    expect(await bytesOf(tail)).toEqual(whole.subarray(1000));
    const middle = await post(url, body, { Range: 'bytes=10-19' });
    expect(await bytesOf(middle)).toEqual(whole.subarray(10, 20));
    const past = await post(url, body, { Range: `bytes=${whole.byteLength}-` });
    expect([past.status, past.headers.get('content-range'), await codeOf(past)]).toEqual([416, `bytes */${whole.byteLength}`, 'range-not-satisfiable']);
    // An If-Range naming another stream: the whole stream, still from memory.
    const other = await post(url, body, { Range: 'bytes=10-', 'If-Range': '"another"' });
    expect([other.status, other.headers.get('x-cache')]).toEqual([200, 'hit']);
    expect(await bytesOf(other)).toEqual(whole);
    expect(engine.requests.length).toBe(asked);
  });

  it('keeps only complete streams, drops the least recently used past its budget, and 0 turns it off', async () => {
    const engine = toneEngine();
    const texts = ['First text, one.', 'Second text, two', 'Third text three'].map((text) => ({ text, model: 'aura-lite', format: 'pcm' }));
    // Each is 16 characters: 0.16 s of 24 kHz s16le = 7680 bytes; the budget holds two.
    const { url } = await listen({ engine, cache: { maxBytes: 2 * 7680 } });
    for (const t of texts) await bytesOf(await post(url, t));
    const cacheOf = async (t: unknown) => {
      const res = await post(url, t);
      await res.arrayBuffer();
      return res.headers.get('x-cache');
    };
    // Held: the second and third; the first was dropped for the third, and asking for it again drops the second.
    expect(await cacheOf(texts[2])).toBe('hit');
    expect(await cacheOf(texts[0])).toBe('miss');
    expect(await cacheOf(texts[1])).toBe('miss');

    // A stream cut before its end is not kept: an engine that gives the first stream's first chunk, then nothing.
    const tone = toneEngine();
    let held = 0;
    const stalling = {
      ...tone,
      synthesize(request: Parameters<typeof tone.synthesize>[0]) {
        const reader = tone.synthesize(request).getReader();
        const stall = held++ === 0;
        let given = 0;
        return new ReadableStream<PcmChunk>({
          async pull(controller) {
            if (stall && given++ > 0) return new Promise<void>(() => {});
            const { done, value } = await reader.read();
            if (done) controller.close();
            else controller.enqueue(value);
          },
          cancel: (reason) => reader.cancel(reason),
        });
      },
    };
    const roomy = await listen({ engine: stalling, cache: { maxBytes: 1 << 20 } });
    const cut = await post(roomy.url, texts[0]);
    const partial = cut.body!.getReader();
    await partial.read();
    await partial.cancel();
    expect(await eventually(() => roomy.server.openStreams === 0)).toBe(true);
    const after = await post(roomy.url, texts[0]);
    expect(after.headers.get('x-cache')).toBe('miss');
    await after.arrayBuffer();
    expect((await post(roomy.url, texts[0])).headers.get('x-cache')).toBe('hit');

    const off = await listen({ engine: toneEngine(), cache: { maxBytes: 0 } });
    for (let i = 0; i < 2; i++) expect((await post(off.url, texts[0])).headers.get('x-cache')).toBeNull();
  });
});

describe('GET /metrics', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('counts TTFB by model and format, bytes out, responses by status and code, limiter decisions, the engine and the cache', async () => {
    t = await startTestServer({ keys: [KEY], limits: { burst: 3, requestsPerSecond: 0.001 }, cache: { maxBytes: 1 << 20 } });
    const body = { text: 'Counting every byte.', model: 'aura-lite', format: 'pcm' };
    const sent = (await bytesOf(await post(t.url, body))).byteLength + (await bytesOf(await post(t.url, body))).byteLength;
    await bytesOf(await post(t.url, { ...body, format: 'mp3' }));
    const refused = await post(t.url, body);
    expect(refused.status).toBe(429);
    await refused.arrayBuffer();
    expect((await post(t.url, body, { 'X-API-Key': 'wrong' })).status).toBe(401);
    let text = '';
    // The last request's line is written when its body ends: scrape until it is counted.
    await eventually(() => (void fetch(`${t!.url}/metrics`).then(async (r) => (text = await r.text())), sample(text, 'voxpipe_responses_total', 'path="/v1/tts/stream",status="401",code="unauthorized"') === 1));
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await res.text();
    expect(sample(text, 'voxpipe_ttfb_seconds_count', 'model="aura-lite",format="pcm",cache="miss"')).toBe(1);
    expect(sample(text, 'voxpipe_ttfb_seconds_count', 'model="aura-lite",format="pcm",cache="hit"')).toBe(1);
    expect(sample(text, 'voxpipe_ttfb_seconds_count', 'model="aura-lite",format="mp3",cache="miss"')).toBe(1);
    expect(sample(text, 'voxpipe_bytes_out_total', 'format="pcm"')).toBe(sent);
    expect(sample(text, 'voxpipe_responses_total', 'path="/v1/tts/stream",status="200",code=""')).toBe(3);
    expect(sample(text, 'voxpipe_responses_total', 'path="/v1/tts/stream",status="429",code="rate-limited"')).toBe(1);
    expect(sample(text, 'voxpipe_limiter_decisions_total', 'outcome="allowed",store="memory"')).toBe(3);
    expect(sample(text, 'voxpipe_limiter_decisions_total', 'outcome="rate",store="memory"')).toBe(1);
    expect(sample(text, 'voxpipe_cache_hits_total')).toBe(1);
    expect(sample(text, 'voxpipe_cache_misses_total')).toBe(2);
    expect(sample(text, 'voxpipe_cache_stored_total')).toBe(2);
    expect(sample(text, 'voxpipe_cache_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'voxpipe_synthesis_realtime_factor_count')).toBe(2);
    expect(sample(text, 'voxpipe_synthesis_realtime_factor_sum')).toBeGreaterThan(0);
    expect(sample(text, 'voxpipe_engine_workers')).toBe(1);
    expect(sample(text, 'voxpipe_engine_workers_busy')).toBe(0);
    expect(sample(text, 'voxpipe_engine_queue_depth')).toBe(0);
    expect(sample(text, 'voxpipe_streams_open')).toBe(0);
  }, limitFor(START_MS, RUN_MS));

  it('is for this machine only by default; with a token, for whoever holds it; with a port, only there', async () => {
    const local = await listen({ engine: toneEngine() });
    expect((await fetch(`${local.url}/metrics`)).status).toBe(200);
    const fromAfar = await local.server.app.request('/metrics', {}, { incoming: { socket: { remoteAddress: '203.0.113.9' } } });
    expect([fromAfar.status, await codeOf(fromAfar)]).toEqual([403, 'forbidden']);

    const token = 'metrics-token-0123456789';
    const guarded = await listen({ engine: toneEngine(), metrics: { token } });
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const scraped = await fetch(`${guarded.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^# HELP voxpipe_/m);

    const said: string[] = [];
    const apart = await listen({ engine: toneEngine(), metrics: { port: 0 }, logger: { info: (m) => said.push(m), warn() {}, error() {} } });
    expect((await fetch(`${apart.url}/metrics`)).status).toBe(404);
    const metricsUrl = /metrics on (\S+)/.exec(said.join('\n'))?.[1];
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(metricsUrl!)).status).toBe(200);
    await apart.listening.close();
    await expect(fetch(metricsUrl!)).rejects.toThrow();
  });
});

describe('request logs', () => {
  it('one line per request, when its body ends: request id, key id (never the key), model, format, status, bytes, TTFB, duration', async () => {
    const lines: RequestLine[] = [];
    const { url } = await listen({ engine: toneEngine(), logger: { info() {}, warn() {}, error() {}, request: (line) => lines.push(line) } });
    const ok = await post(url, { text: 'Logged once.', model: 'aura-lite', format: 'wav' }, { 'X-Request-Id': 'client-id-1' });
    expect(ok.headers.get('x-request-id')).toBe('client-id-1');
    const got = await bytesOf(ok);
    const bad = await post(url, { text: 'x' }, { 'X-API-Key': 'wrong-key', 'X-Request-Id': 'not a token!' });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}$/);
    await bad.arrayBuffer();
    expect(await eventually(() => lines.length === 2)).toBe(true);
    expect(lines[0]).toMatchObject({ requestId: 'client-id-1', method: 'POST', path: '/v1/tts/stream', status: 200, keyId: expect.stringMatching(/^[0-9a-f]{8}$/), model: 'aura-lite', format: 'wav', bytes: got.byteLength, outcome: 'complete' });
    expect(lines[0].ttfbMs).toBeGreaterThan(0);
    expect(lines[0].durationMs).toBeGreaterThanOrEqual(lines[0].ttfbMs!);
    expect(lines[1]).toMatchObject({ requestId: bad.headers.get('x-request-id'), status: 401, code: 'unauthorized' });
    expect(lines[1].keyId).toBeUndefined();
    expect(JSON.stringify(lines)).not.toContain(KEY);
  });

  it('the default logger writes JSON lines (pino), or words for a terminal', async () => {
    const written: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (written.push(chunk.toString()), done()) });
    const { url } = await listen({ engine: toneEngine(), logger: jsonLogger({ destination: sink }) });
    await bytesOf(await post(url, { text: 'As JSON.', model: 'aura-lite' }));
    expect(await eventually(() => written.join('').includes('"msg":"request"'))).toBe(true);
    const request = written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request')!;
    expect(request).toMatchObject({ level: 30, status: 200, model: 'aura-lite', format: 'pcm', path: '/v1/tts/stream' });
    const pretty: string[] = [];
    const terminal = prettyLines(new Writable({ write: (chunk: Buffer, _e, done) => (pretty.push(chunk.toString()), done()) }));
    terminal.write(`${JSON.stringify(request)}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pretty.join('')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  request requestId=\S+ method=POST path=\/v1\/tts\/stream status=200 .*model=aura-lite format=pcm bytes=\d+/);
  });
});

describe('shutdown by SIGTERM', () => {
  /** 2,000 characters at 300 ms: 600 s of 24 kHz s16le, 28.8 MB, far more than loopback's socket buffers hold, so the stream stays open until read. */
  const body = { text: 'Ten minutes of tone. '.repeat(100).slice(0, 2000), model: 'aura-lite', format: 'pcm' };
  const length = 2000 * 0.3 * 24000 * 2;

  it('drains: /readyz 503, /healthz 200, new streams 503, the open stream finishes whole, then the process exits 0', async () => {
    const a = await startInstance({ keys: [KEY], msPerChar: 300, drainMs: CHILD_MS / 2 });
    instances.push(a);
    const open = await post(a.url, body);
    const reader = open.body!.getReader();
    const got: Uint8Array[] = [(await reader.read()).value!];
    a.child.kill('SIGTERM');
    expect(await eventually(() => /draining: 1 streams open/.test(a.output))).toBe(true);
    const ready = await fetch(`${a.url}/readyz`);
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([503, 'draining']);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    const refused = await post(a.url, body);
    expect([refused.status, refused.headers.get('retry-after'), await codeOf(refused)]).toEqual([503, '5', 'unavailable']);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got.push(value);
    }
    expect(joinBytes(got).byteLength).toBe(length);
    expect(await a.exited).toBe(0);
    expect(a.output).not.toMatch(/drain deadline/);
  }, limitFor(START_MS, CHILD_MS));

  it('cuts what is still open at the deadline; the client resumes it byte-exact on another server with Range', async () => {
    const [a, b] = await Promise.all([startInstance({ keys: [KEY], msPerChar: 300, drainMs: 500 }), startInstance({ keys: [KEY], msPerChar: 300 })]);
    instances.push(a, b);
    const whole = await bytesOf(await post(b.url, body));
    const open = await post(a.url, body);
    const tag = open.headers.get('etag')!;
    const reader = open.body!.getReader();
    const got: Uint8Array[] = [(await reader.read()).value!];
    a.child.kill('SIGTERM');
    // Read nothing more until the deadline has cut it, then take what the connection still held.
    expect(await a.exited).toBe(0);
    expect(a.output).toMatch(/drain deadline: cutting 1 open streams/);
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          got.push(value);
        }
      })(),
    ).rejects.toThrow();
    const have = joinBytes(got);
    expect(have.byteLength).toBeLessThan(whole.byteLength);
    const rest = await post(b.url, body, { Range: `bytes=${have.byteLength}-`, 'If-Range': tag });
    expect(rest.status).toBe(206);
    // Buffer.equals: a deep equality over 28.8 million elements would take minutes.
    expect(Buffer.from(joinBytes([have, await bytesOf(rest)])).equals(Buffer.from(whole))).toBe(true);
  }, limitFor(START_MS, CHILD_MS, RUN_MS));
});
