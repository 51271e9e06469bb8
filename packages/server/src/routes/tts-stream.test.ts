// POST /v1/tts/stream through the whole app (app.request) with a tone engine; the real engine in testing/test-server.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.js';
import { toneEngine } from '../testing/tone-engine.js';

const KEY = 'route-key-0123456789';
const engine = toneEngine();
const said: string[] = [];
const server = createServer({
  engine,
  keys: [KEY],
  env: {},
  logger: { info() {}, warn: (m) => said.push(m), error: (m) => said.push(m) },
  limits: { burst: 1000, requestsPerSecond: 1000 },
});
afterAll(() => server.close());

const ok = { text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
const stream = (body: unknown, headers: Record<string, string> = {}) =>
  server.app.request('/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { code: string; message: string } }).error });

describe('POST /v1/tts/stream', () => {
  it('streams 24 kHz s16le PCM for an aura model, with the headers that say so', async () => {
    const res = await stream(ok);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/pcm; rate=24000; channels=1');
    expect(res.headers.get('x-model')).toBe('aura-lite');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const bytes = new Uint8Array(await res.arrayBuffer());
    // 12 characters at 10 ms each: 0.12 s of 24 kHz mono, 2 bytes a sample.
    expect(bytes.byteLength).toBe(0.12 * 24000 * 2);
    expect(server.openStreams).toBe(0);
  });

  it('asks the engine for the key as owner; a range is urgent as a whole; rapid-flash cuts sentences by the language', async () => {
    const before = engine.requests.length;
    await (await stream(ok)).arrayBuffer();
    await (await stream(ok, { Range: 'bytes=10-' })).arrayBuffer();
    const german = { text: 'Am 3. Oktober fahren wir nach Berlin. Dort bleiben wir.', voice: 'Peter', language: 'de-DE', model: 'rapid-flash' };
    await (await stream(german)).arrayBuffer();
    const [whole, ranged, ...sentences] = engine.requests.slice(before);
    expect(whole.owner).toMatch(/^[0-9a-f]{8}$/);
    expect(whole.urgentMs ?? 0).toBe(0);
    expect(ranged).toMatchObject({ owner: whole.owner, urgentMs: Infinity });
    expect(sentences.map((r) => r.text)).toEqual(['Am 3. Oktober fahren wir nach Berlin.', 'Dort bleiben wir.']);
    for (const r of sentences) expect(r).toMatchObject({ owner: whole.owner, urgentMs: Infinity });
  });

  it('names the engine voice it asked for and passes speed', async () => {
    const before = engine.requests.length;
    await (await stream({ ...ok, voice: 'Anna', speed: 1.5 })).arrayBuffer();
    expect(engine.requests.slice(before)).toMatchObject([{ text: ok.text, voice: 'en-us+f3', speed: 1.5 }]);
  });

  it('picks the format from the body, then Accept, then the model', async () => {
    const formatOf = async (res: Response) => {
      await res.arrayBuffer();
      return res.headers.get('x-audio-format');
    };
    expect(await formatOf(await stream({ ...ok, format: 'wav' }, { Accept: 'audio/mpeg' }))).toBe('wav');
    expect(await formatOf(await stream(ok, { Accept: 'audio/wav' }))).toBe('wav');
    expect(await formatOf(await stream({ ...ok, model: undefined }))).toBe('mp3');
  });

  it('serves a byte range as 206 with the same bytes', async () => {
    const whole = new Uint8Array(await (await stream(ok)).arrayBuffer());
    const part = await stream(ok, { Range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/*');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(whole.subarray(100, 200));
    expect(await errorOf(await stream(ok, { Range: `bytes=${whole.byteLength + 10}-` }))).toMatchObject({ status: 416, code: 'range-not-satisfiable' });
    expect(await errorOf(await stream(ok, { Range: 'bytes=-5' }))).toMatchObject({ status: 416, code: 'range-not-satisfiable' });
  });

  it('says what is wrong with a request, with the code to branch on', async () => {
    const cases: Array<[unknown, number, string]> = [
      ['{"text": "Hel', 400, 'invalid-json'],
      ['[1]', 400, 'invalid-body'],
      [{ voice: 'Peter' }, 400, 'missing-text'],
      [{ ...ok, model: 'gpt-voice' }, 400, 'unknown-model'],
      [{ ...ok, pitch: 2 }, 400, 'pitch-not-supported'],
      [{ ...ok, language: 'xx-YY' }, 400, 'unknown-language'],
      [{ ...ok, voice: 'Zebedee' }, 400, 'unknown-voice'],
      [{ ...ok, speed: 9 }, 400, 'speed-out-of-range'],
    ];
    for (const [body, status, code] of cases) expect(await errorOf(await stream(body))).toMatchObject({ status, code });
    expect(server.openStreams).toBe(0);
  });

  it('asks for a key first (401), other methods are 405', async () => {
    expect(await errorOf(await stream(ok, { 'X-API-Key': 'wrong' }))).toMatchObject({ status: 401, code: 'unauthorized' });
    const get = await server.app.request('/v1/tts/stream');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('lets the server owner see each engine request through the synthesis hook', async () => {
    const seen: Array<{ keyId: string; text: string }> = [];
    const hooked = createServer({ engine: toneEngine(), keys: [KEY], env: {}, logger: false, hooks: { synthesis: (request, context) => (seen.push(context), { ...request, speed: 2 }) } });
    const res = await hooked.app.request('/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify(ok) });
    expect(new Uint8Array(await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(seen).toEqual([{ keyId: expect.stringMatching(/^[0-9a-f]{8}$/), text: ok.text }]);
    await hooked.close();
  });

  it('an engine failure before the first byte is 500 internal, logged, telling nothing of the cause', async () => {
    const logged: string[] = [];
    const broken = { ...toneEngine(), synthesize: () => new ReadableStream({ pull: () => Promise.reject(new Error('secret /srv/engine exploded')) }) };
    const failing = createServer({ engine: broken, keys: [KEY], env: {}, logger: { info() {}, warn() {}, error: (m) => logged.push(m) } });
    const res = await failing.app.request('/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify(ok) });
    const error = await errorOf(res);
    expect(error).toMatchObject({ status: 500, code: 'internal' });
    expect(error.message).not.toMatch(/secret|srv|exploded/);
    expect(logged.join('\n')).toMatch(/exploded/);
    expect(failing.openStreams).toBe(0);
    await failing.close();
  });

  it('refuses new streams with 503 once the server is closing', async () => {
    const closing = createServer({ engine: toneEngine(), keys: [KEY], env: {}, logger: false });
    await closing.close();
    const res = await closing.app.request('/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify(ok) });
    expect(await errorOf(res)).toMatchObject({ status: 503, code: 'unavailable' });
    expect(res.headers.get('retry-after')).toBe('5');
  });
});
