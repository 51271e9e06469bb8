// Every error the /v1/tts/stream server gives, against a real server with the
// real espeak engine: JSON { error: { code, message } }, the right status, and
// never a key in the logs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine, type EspeakEngine } from '../packages/engine-espeak/src/index.js';
import { ReadableStream, type Engine } from '../packages/core/src/index.js';
import { createServer, type ListeningServer, type Logger } from '../packages/server/src/index.js';
import { SETTLE } from './support/budgets.js';
import { startTestServer, ttsStream, type TestServer } from './support/tts-server.js';

const KEY = 'sk-errors-test-5f1c9a';
const ok = { text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
let t: TestServer;
const lines: string[] = [];
const logger: Logger = {
  info: (m) => lines.push(m),
  warn: (m) => lines.push(m),
  error: (m) => lines.push(m),
  debug: (m) => lines.push(m),
};

beforeAll(async () => {
  t = await startTestServer({ keys: [KEY], logger, limits: { maxBodyBytes: 4096, burst: 1000, requestsPerSecond: 1000 } });
});
afterAll(async () => {
  await t?.close();
});

async function errorOf(res: Response | { status: number; bytes: Uint8Array; headers: Headers }): Promise<{ status: number; code: string; message: string; headers: Headers }> {
  const text = res instanceof Response ? await res.text() : new TextDecoder().decode(res.bytes);
  const body = JSON.parse(text);
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return { status: res.status, code: body.error.code, message: body.error.message, headers: res.headers };
}

const post = (body: unknown, headers: Record<string, string> = {}) => ttsStream(t.url, body, { 'X-API-Key': KEY, ...headers });

describe('400: bad requests', () => {
  it.each([
    ['bad JSON', '{"text": "Hello', 'invalid-json', /not valid JSON/],
    ['a JSON array', '[1,2]', 'invalid-body', /JSON object/],
    ['unknown model', { ...ok, model: 'gpt-voice' }, 'unknown-model', /Unknown model "gpt-voice"/],
    ['unknown voice', { ...ok, voice: 'Zebedee' }, 'unknown-voice', /Unknown voice "Zebedee"/],
    ['unknown language', { ...ok, language: 'xx-YY' }, 'unknown-language', /Unknown language "xx-YY"/],
    ['unknown format', { ...ok, format: 'ogg' }, 'unknown-format', /format must be one of pcm, mp3, wav/],
    ['empty text', { ...ok, text: '   ' }, 'empty-text', /text is empty/],
    ['missing text', { voice: 'Peter' }, 'missing-text', /text is required/],
    ['text not a string', { ...ok, text: 42 }, 'invalid-text', /text must be a string/],
    ['speed too low', { ...ok, speed: 0.4 }, 'speed-out-of-range', /speed must be from 0.5 to 2/],
    ['speed too high', { ...ok, speed: 2.5 }, 'speed-out-of-range', /speed must be from 0.5 to 2/],
    ['speed not a number', { ...ok, speed: 'fast' }, 'speed-out-of-range', /speed must be a number/],
    ['pitch out of range', { ...ok, model: 'rapid-flash', pitch: 13 }, 'pitch-out-of-range', /pitch must be from -12 to 12 semitones/],
    ['pitch on rapid-max', { ...ok, model: 'rapid-max', pitch: 1 }, 'pitch-not-supported', /pitch is not available on rapid-max's streaming path/],
    ['pitch on aura', { ...ok, model: 'aura', pitch: -1 }, 'pitch-not-supported', /pitch is not available on aura's streaming path/],
  ])('%s', async (_name, body, code, message) => {
    const error = await errorOf(await post(body));
    expect(error.status).toBe(400);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('text over the stated limit (5000 characters) → 400 text-too-long', async () => {
    const roomy = await startTestServer({ keys: [KEY], limits: { maxBodyBytes: 64 * 1024 } });
    try {
      const over = await ttsStream(roomy.url, { ...ok, text: 'a'.repeat(5001) }, { 'X-API-Key': KEY });
      const error = await errorOf(over);
      expect(error.status).toBe(400);
      expect(error.code).toBe('text-too-long');
      expect(error.message).toMatch(/longer than 5000 characters/);
      const atLimit = await ttsStream(roomy.url, { ...ok, text: `${'word '.repeat(999)}end.` }, { 'X-API-Key': KEY, Range: 'bytes=0-99' });
      expect(atLimit.status).toBe(206);
    } finally {
      await roomy.close();
    }
  });
});

describe('401: keys', () => {
  it('a missing key and an unknown key are 401, and no key reaches the logs', async () => {
    const missing = await errorOf(await ttsStream(t.url, ok));
    expect(missing).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(missing.message).toMatch(/Missing X-API-Key/);
    const wrong = await errorOf(await ttsStream(t.url, ok, { 'X-API-Key': 'sk-wrong-key-777' }));
    expect(wrong).toMatchObject({ status: 401, code: 'unauthorized' });
    const almost = await errorOf(await ttsStream(t.url, ok, { 'X-API-Key': KEY.slice(0, -1) }));
    expect(almost.status).toBe(401);
    expect((await post(ok)).status).toBe(200);
    for (const line of lines) {
      expect(line).not.toContain(KEY);
      expect(line).not.toContain('sk-wrong-key-777');
    }
  });

  it('keys come from VOXPIPE_API_KEYS and a keys file; with none, a development key is made and printed once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'voxpipe-keys-'));
    const engine = await createEspeakEngine({ workers: 1 });
    const servers: ListeningServer[] = [];
    try {
      const file = join(dir, 'keys.txt');
      await writeFile(file, '# keys for tests\nfile-key-1\n\nfile-key-2  # second\n');
      const configured = createServer({ engine, logger: false, env: { VOXPIPE_API_KEYS: 'env-key-a, env-key-b' }, keysFile: file });
      expect(configured.developmentKey).toBeUndefined();
      const a = await configured.listen();
      servers.push(a);
      for (const key of ['env-key-a', 'env-key-b', 'file-key-1', 'file-key-2']) {
        expect((await ttsStream(a.url, ok, { 'X-API-Key': key, Range: 'bytes=0-9' })).status).toBe(206);
      }
      expect((await ttsStream(a.url, ok, { 'X-API-Key': '# keys for tests' })).status).toBe(401);

      const said: string[] = [];
      const dev = createServer({ engine, env: {}, logger: { info: (m) => said.push(m), warn: (m) => said.push(m), error: (m) => said.push(m) } });
      const b = await dev.listen();
      servers.push(b);
      const key = dev.developmentKey!;
      expect(key).toMatch(/^vp_dev_/);
      expect(said.filter((line) => line.includes(key))).toHaveLength(1);
      expect((await ttsStream(b.url, ok, { 'X-API-Key': key, Range: 'bytes=0-9' })).status).toBe(206);
      expect(said.filter((line) => line.includes(key))).toHaveLength(1);
    } finally {
      for (const s of servers) await s.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('413: body too large', () => {
  it('with a Content-Length over the limit', async () => {
    const error = await errorOf(await post({ ...ok, text: 'x '.repeat(3000) }));
    expect(error).toMatchObject({ status: 413, code: 'payload-too-large' });
  });

  it('when streamed without a Content-Length', async () => {
    const chunk = new TextEncoder().encode(`{"text":"${'y'.repeat(1000)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else {
          c.enqueue(new TextEncoder().encode('"}'));
          c.close();
        }
      },
    });
    const res = await fetch(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(await errorOf(res)).toMatchObject({ status: 413, code: 'payload-too-large' });
  });
});

describe('429: limits', () => {
  it('per-key request rate (token bucket) with Retry-After; other keys are not affected', async () => {
    // One token in 1000 s: however slowly a busy machine makes the first two, none comes back before the third.
    const rate = 0.001;
    const limited = await startTestServer({ keys: ['rate-a', 'rate-b'], limits: { requestsPerSecond: rate, burst: 2 } });
    try {
      const short = { ...ok, text: 'Hi.' };
      expect((await ttsStream(limited.url, short, { 'X-API-Key': 'rate-a' })).status).toBe(200);
      expect((await ttsStream(limited.url, short, { 'X-API-Key': 'rate-a' })).status).toBe(200);
      const third = await errorOf(await ttsStream(limited.url, short, { 'X-API-Key': 'rate-a' }));
      expect(third).toMatchObject({ status: 429, code: 'rate-limited' });
      const retryAfter = Number(third.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(1 / rate));
      expect((await ttsStream(limited.url, short, { 'X-API-Key': 'rate-b' })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('concurrent streams per key, with Retry-After; the slot frees when the stream ends', async () => {
    const limited = await startTestServer({ keys: ['conc'], limits: { concurrentStreamsPerKey: 1 } });
    try {
      const first = new AbortController();
      const open = await fetch(`${limited.url}/v1/tts/stream`, {
        method: 'POST',
        headers: { 'X-API-Key': 'conc', 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...ok, text: 'A long answer. '.repeat(200) }),
        signal: first.signal,
      });
      expect(open.status).toBe(200);
      const second = await errorOf(await ttsStream(limited.url, ok, { 'X-API-Key': 'conc' }));
      expect(second).toMatchObject({ status: 429, code: 'too-many-streams' });
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      first.abort();
      await vi.waitFor(() => expect(limited.server.openStreams).toBe(0), SETTLE);
      expect((await ttsStream(limited.url, ok, { 'X-API-Key': 'conc' })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('500 without internals', () => {
  it('an engine failure before the first byte is a 500 that tells nothing of the cause', async () => {
    const real = await createEspeakEngine({ workers: 1 });
    const broken: Engine = {
      name: 'broken',
      sampleRate: real.sampleRate,
      voices: () => real.voices(),
      synthesize: () => new ReadableStream({ pull: () => Promise.reject(new Error('secret /etc/internal/path exploded')) }),
      close: () => real.close(),
    };
    const said: string[] = [];
    const server = createServer({ engine: broken, keys: [KEY], env: {}, logger: { info() {}, warn() {}, error: (m) => said.push(m) } });
    const listening = await server.listen();
    try {
      const res = await ttsStream(listening.url, ok, { 'X-API-Key': KEY });
      const error = await errorOf(res);
      expect(error).toMatchObject({ status: 500, code: 'internal' });
      expect(error.message).not.toMatch(/secret|etc|exploded/);
      expect(said.join('\n')).toMatch(/exploded/); // the operator still learns what happened
    } finally {
      await listening.close();
      await real.close();
    }
  });
});

describe('a failure right after the first audio', () => {
  it('the client gets the 200, the audio sent and a cut transfer, even when the failure comes before the first bytes left the server', async () => {
    // An engine whose second chunk fails at once: the failure reaches the server in the same turn as its first bytes.
    const real = await createEspeakEngine({ workers: 1 });
    const tenth = new Float32Array(2400).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 24000));
    const failing: Engine = {
      name: 'fails-after-one-chunk',
      sampleRate: 24000,
      voices: () => real.voices(),
      synthesize: () => {
        let sent = false;
        return new ReadableStream({
          pull(controller) {
            if (sent) return Promise.reject(new Error('synthesis broke after its first chunk'));
            sent = true;
            controller.enqueue({ sampleRate: 24000, channels: [tenth] });
          },
        });
      },
      close: () => real.close(),
    };
    const said: string[] = [];
    const listening = await createServer({ engine: failing, keys: [KEY], env: {}, logger: { info() {}, warn() {}, error: (m) => said.push(m) } }).listen();
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const heard = await new Promise<{ status: number; bytes: number; complete: boolean }>((resolve, reject) => {
          const req = httpRequest(`${listening.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' } }, (res) => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
            res.on('close', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete }));
          });
          req.on('error', reject); // a hang-up before the status line
          req.end(JSON.stringify({ ...ok, format: 'pcm' }));
        });
        expect(heard).toEqual({ status: 200, bytes: 4800, complete: false });
      }
      expect(said.join('\n')).toMatch(/stream failed mid-way.*synthesis broke after its first chunk/);
    } finally {
      await listening.close();
      await real.close();
    }
  });
});

describe('routes and CORS', () => {
  it('unknown routes are JSON 404; GET on the stream endpoint is 405', async () => {
    expect(await errorOf(await fetch(`${t.url}/v2/nothing`))).toMatchObject({ status: 404, code: 'not-found' });
    expect(await errorOf(await fetch(`${t.url}/v1/tts/stream`))).toMatchObject({ status: 405, code: 'method-not-allowed' });
  });

  it('default: any origin; preflight allows X-API-Key and Content-Type; audio headers are exposed', async () => {
    const pre = await fetch(`${t.url}/v1/tts/stream`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key, content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    expect(allowed).toContain('x-api-key');
    expect(allowed).toContain('content-type');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const res = await fetch(`${t.url}/v1/tts/stream`, {
      method: 'POST',
      headers: { Origin: 'http://localhost:5173', 'X-API-Key': KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify(ok),
    });
    await res.arrayBuffer();
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    for (const header of ['x-sample-rate', 'x-channels', 'x-audio-format', 'content-range']) expect(exposed).toContain(header);
  });

  it('configured origins: allowed origin gets its grant, any other origin gets none', async () => {
    const engine = await createEspeakEngine({ workers: 1 });
    const listening = await createServer({ engine, keys: [KEY], env: {}, logger: false, cors: { origins: ['https://app.example.com'] } }).listen();
    try {
      const preflight = (origin: string) =>
        fetch(`${listening.url}/v1/tts/stream`, {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key,content-type' },
        });
      const allowed = await preflight('https://app.example.com');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect((allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('x-api-key');
      const denied = await preflight('https://evil.example.net');
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await listening.close();
      await engine.close();
    }
  });

  it('rejects bad server options with a typed error', () => {
    expect(() => createServer({ logger: false, env: {}, limits: { maxTextChars: -1 } })).toThrow(/limits.*maxTextChars/);
    expect(() => createServer({ logger: false, env: {}, cors: { origins: ['not a url'] } })).toThrow(/cors/);
  });
});
