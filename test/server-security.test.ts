// Security promises of the /v1/tts/stream server: keys compared in constant
// time and never logged, per-key and server-wide limits (429 + Retry-After),
// body limits, the CORS allowlist, and short-lived browser tokens bound to an
// origin (POST /v1/tokens) that are charged to the key that issued them.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine, type EspeakEngine } from '../packages/engine-espeak/src/index.js';
import { createServer, type ListeningServer, type Logger, type VoxpipeServer } from '../packages/server/src/index.js';
import { createKeyStore } from '../packages/server/src/keys.js';
import { createTokenSigner } from '../packages/server/src/tokens.js';
import { CHILD_MS, limitFor, SETTLE } from './support/budgets.js';
import { longText, ttsStream } from './support/tts-server.js';

const compare = vi.hoisted(() => ({ calls: [] as Array<[number, number]> }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    compare.calls.push([a.byteLength, b.byteLength]);
    return actual.timingSafeEqual(a, b);
  };
  return { ...actual, timingSafeEqual, default: { ...actual, timingSafeEqual } };
});

const GOOD = 'sk-live-GOODKEY-4f8a1c2e9d';
const OTHER = 'sk-live-OTHERKEY-77b3e0aa1f';
const BAD = 'sk-live-BADKEY-000000000000';
const SECRET = 'token-secret-for-tests-0123456789';
const APP = 'https://app.example.com';
const idOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8);
const body = { text: 'Hello from a browser page.', voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' };

let engine: EspeakEngine;
let server: VoxpipeServer;
let listening: ListeningServer;
const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m), debug: (m) => lines.push(m) };
const consoleSpies = [vi.spyOn(console, 'log'), vi.spyOn(console, 'info'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')];

beforeAll(async () => {
  engine = await createEspeakEngine({ workers: 2 });
  server = createServer({
    engine,
    keys: [GOOD, OTHER],
    env: {},
    logger,
    tokens: { secret: SECRET },
    cors: { origins: [APP, 'http://localhost:5173'] },
    limits: { concurrentStreamsPerKey: 2, burst: 1000, requestsPerSecond: 1000 },
  });
  listening = await server.listen();
});
afterAll(async () => {
  await listening?.close();
  await engine?.close();
  for (const suffix of ['', '-2']) rmSync(join(tmpdir(), `voxpipe-security-${process.pid}${suffix}.raw`), { force: true });
});

const call = (path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) =>
  server.app.fetch(
    new Request(`http://in-process${path}`, {
      method: init.method ?? 'POST',
      headers: { 'Content-Type': 'application/json', ...init.headers },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    }),
  );
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
async function issue(key: string, request: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await call('/v1/tokens', { headers: { 'X-API-Key': key }, body: request });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('keys', () => {
  it('the key store compares digests in constant time: one 32-byte timingSafeEqual per stored key, whatever is presented', () => {
    const store = createKeyStore(['alpha-key-1', 'beta-key-22', 'gamma-key-333']);
    for (const presented of ['alpha-key-1', 'gamma-key-333', 'alpha-key-', 'x', 'beta-key-22'.repeat(50), 'completely different']) {
      compare.calls.length = 0;
      store.check(presented);
      expect(compare.calls).toEqual([
        [32, 32],
        [32, 32],
        [32, 32],
      ]);
    }
    expect(store.check('beta-key-22')).toBe(idOf('beta-key-22'));
    expect(store.check('beta-key-2')).toBeUndefined();
    // Nothing longer than 1 KiB is hashed at all (its length is all that is learnt).
    compare.calls.length = 0;
    expect(store.check('k'.repeat(1025))).toBeUndefined();
    expect(compare.calls).toEqual([]);
  });

  it('keys and tokens never reach a log line: server (every level, and the console) and the voxpipe command', async () => {
    const { json } = await issue(GOOD, { origin: APP });
    const token = json.token as string;
    // A mix of requests with good and bad credentials, good and bad bodies.
    const requests: Array<[Record<string, string>, unknown]> = [
      [{ 'X-API-Key': GOOD }, body],
      [{ 'X-API-Key': BAD }, body],
      [{ 'X-API-Key': GOOD.slice(0, -1) }, body],
      [{ 'X-API-Key': GOOD }, { ...body, voice: 'Nobody' }],
      [{ 'X-API-Key': GOOD }, '{"text": '],
      [{ Authorization: `Bearer ${token}`, Origin: APP }, body],
      [{ Authorization: `Bearer ${token}`, Origin: 'https://evil.example' }, body],
      [{ Authorization: `Bearer ${token.slice(0, -2)}xx`, Origin: APP }, body],
      [{ 'X-API-Token': token, Origin: APP }, { ...body, model: 'no-such-model' }],
    ];
    for (const [headers, b] of requests) await ttsStream(listening.url, b, headers);
    // A stream the client abandons mid-way, and a failed engine request, are logged too.
    const controller = new AbortController();
    const res = await fetch(`${listening.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': GOOD, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, text: longText(2000) }), signal: controller.signal });
    await res.body!.getReader().read();
    controller.abort();
    // The command line, with good and bad keys.
    const tsx = join(import.meta.dirname, '..', 'node_modules', '.bin', 'tsx');
    const main = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'main.ts');
    const run = (args: string[]) =>
      new Promise<string>((resolve) => {
        execFile(tsx, [main, ...args], { env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '' }, timeout: CHILD_MS }, (_e, stdout, stderr) => resolve(stdout + stderr));
      });
    const serveOutput = new Promise<string>((resolve) => {
      const child = spawn(tsx, [main, 'serve', '--port', '0', '--keys', `${GOOD},${OTHER}`], { env: { ...process.env, VOXPIPE_API_KEYS: '' }, timeout: CHILD_MS });
      let out = '';
      const collect = (d: Buffer) => {
        out += d.toString();
        if (/listening on/.test(out)) child.kill('SIGTERM');
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('exit', () => resolve(out));
    });
    const cli = await Promise.all([
      run(['say', 'Hi', '--url', listening.url, '--api-key', GOOD, '--model', 'aura-lite', '--out', join(tmpdir(), `voxpipe-security-${process.pid}.raw`), '--json']),
      run(['say', 'Hi', '--url', listening.url, '--api-key', BAD, '--model', 'aura-lite', '--out', join(tmpdir(), `voxpipe-security-${process.pid}-2.raw`)]),
      run(['say', 'Hi', '--url', listening.url, '--api-key', GOOD, '--model', 'nope']),
      serveOutput,
    ]);
    await vi.waitFor(() => expect(server.openStreams).toBe(0), SETTLE);
    const consoleLines = consoleSpies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' ')));
    const everything = [...lines, ...consoleLines, ...cli];
    expect(lines.length).toBeGreaterThan(3);
    expect(cli[1]).toMatch(/auth/);
    expect(cli[3]).toMatch(/listening on/);
    for (const secret of [GOOD, OTHER, BAD, GOOD.slice(0, -1), token, token.split('.')[2], SECRET]) {
      for (const line of everything) expect(line).not.toContain(secret);
    }
    // What the operator does see: the key's short id.
    expect(lines.some((line) => line.includes(idOf(GOOD)))).toBe(true);
    console.log(`[security] ${everything.length} log/output lines from the server (${lines.length}), the console and 4 voxpipe commands: no key, token or secret in any`);
  }, limitFor(CHILD_MS, SETTLE.timeout)); // the commands run side by side, each ended after CHILD_MS
});

describe('browser tokens (POST /v1/tokens)', () => {
  it('issues a token bound to an origin and an expiry (default 5 min) that a page uses instead of the key', async () => {
    const before = Date.now();
    const { status, json } = await issue(GOOD, { origin: APP });
    expect(status).toBe(200);
    expect(json).toMatchObject({ origin: APP, expiresIn: 300 });
    expect(Date.parse(json.expiresAt as string)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 299_000);
    const token = json.token as string;
    expect(token).toMatch(/^vpt1\.[\w-]+\.[\w-]+$/);
    expect(token).not.toContain(GOOD);
    // Over real HTTP, as a page's fetch sends it.
    const bearer = await ttsStream(listening.url, body, { Authorization: `Bearer ${token}`, Origin: APP });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('access-control-allow-origin')).toBe(APP);
    expect(bearer.bytes.byteLength).toBeGreaterThan(24_000);
    const header = await call('/v1/tts/stream', { headers: { 'X-API-Token': token, Origin: APP }, body });
    expect(header.status).toBe(200);
    await header.arrayBuffer();
  });

  it('rejects expired, tampered, foreign-secret, wrong-origin and origin-less tokens with 401', async () => {
    const token = (await issue(GOOD, { origin: APP, ttlSeconds: 60 })).json.token as string;
    const now = Math.floor(Date.now() / 1000);
    const same = createTokenSigner(SECRET);
    const [, payload, signature] = token.split('.');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const cases: Array<[string, Record<string, string>, string, RegExp]> = [
      ['expired', { Authorization: `Bearer ${same.issue({ origin: APP, exp: now - 1, keyId: idOf(GOOD) })}`, Origin: APP }, 'token-expired', /expired/],
      ['payload tampered', { Authorization: `Bearer vpt1.${flip(payload, 5)}.${signature}`, Origin: APP }, 'unauthorized', /not valid/],
      ['signature tampered', { Authorization: `Bearer vpt1.${payload}.${flip(signature, 3)}`, Origin: APP }, 'unauthorized', /not valid/],
      ['longer expiry forged', { Authorization: `Bearer vpt1.${Buffer.from(JSON.stringify({ o: APP, e: now + 99_999, k: idOf(GOOD) })).toString('base64url')}.${signature}`, Origin: APP }, 'unauthorized', /not valid/],
      ['another secret', { Authorization: `Bearer ${createTokenSigner('some-other-secret-0123456').issue({ origin: APP, exp: now + 60, keyId: idOf(GOOD) })}`, Origin: APP }, 'unauthorized', /not valid/],
      ['unknown key id', { Authorization: `Bearer ${same.issue({ origin: APP, exp: now + 60, keyId: 'deadbeef' })}`, Origin: APP }, 'unauthorized', /no longer valid/],
      ['wrong origin', { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' }, 'unauthorized', /another origin/],
      ['no origin', { Authorization: `Bearer ${token}` }, 'unauthorized', /another origin/],
      ['garbage', { Authorization: 'Bearer not-a-token' }, 'unauthorized', /not valid/],
    ];
    for (const [name, headers, code, message] of cases) {
      const res = await call('/v1/tts/stream', { headers, body });
      const error = await errorCode(res);
      expect({ name, status: res.status, code: error.code }).toEqual({ name, status: 401, code });
      expect(error.message).toMatch(message);
    }
    // A 1 s token: good within its second, refused once the server's clock has passed it. The clock
    // (Date only) is held and then moved, so a busy machine cannot use the second up in between.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const short = (await issue(GOOD, { origin: APP, ttlSeconds: 1 })).json.token as string;
      const fresh = await call('/v1/tts/stream', { headers: { Authorization: `Bearer ${short}`, Origin: APP }, body: { ...body, text: 'ok' } });
      expect(fresh.status).toBe(200);
      await fresh.arrayBuffer();
      vi.setSystemTime(Date.now() + 1100);
      const late = await call('/v1/tts/stream', { headers: { Authorization: `Bearer ${short}`, Origin: APP }, body });
      expect(late.status).toBe(401);
      expect((await errorCode(late)).code).toBe('token-expired');
    } finally {
      vi.useRealTimers();
    }
  });

  it('checks what it issues: a key is required (not a token), origins must be exact and allowed, the lifetime at most 1 h', async () => {
    const token = (await issue(GOOD, { origin: APP })).json.token as string;
    const cases: Array<[Record<string, string>, unknown, number, string]> = [
      [{}, { origin: APP }, 401, 'unauthorized'],
      [{ 'X-API-Key': BAD }, { origin: APP }, 401, 'unauthorized'],
      [{ Authorization: `Bearer ${token}`, Origin: APP }, { origin: APP }, 401, 'unauthorized'],
      [{ 'X-API-Key': GOOD }, { origin: 'https://evil.example' }, 400, 'origin-not-allowed'],
      [{ 'X-API-Key': GOOD }, { origin: `${APP}/path` }, 400, 'invalid-origin'],
      [{ 'X-API-Key': GOOD }, { origin: 'javascript:alert(1)' }, 400, 'invalid-origin'],
      [{ 'X-API-Key': GOOD }, { origin: APP, ttlSeconds: 3601 }, 400, 'invalid-ttl'],
      [{ 'X-API-Key': GOOD }, { origin: APP, ttlSeconds: 0 }, 400, 'invalid-ttl'],
      [{ 'X-API-Key': GOOD }, { origin: APP, ttlSeconds: '60' }, 400, 'invalid-ttl'],
      [{ 'X-API-Key': GOOD }, [APP], 400, 'invalid-body'],
      [{ 'X-API-Key': GOOD }, '{"origin":', 400, 'invalid-json'],
      [{ 'X-API-Key': GOOD }, { origin: APP, pad: 'x'.repeat(5000) }, 413, 'payload-too-large'],
    ];
    for (const [headers, request, status, code] of cases) {
      const res = await call('/v1/tokens', { headers, body: request });
      expect({ request: JSON.stringify(request).slice(0, 60), status: res.status, code: (await errorCode(res)).code }).toEqual({ request: JSON.stringify(request).slice(0, 60), status, code });
    }
    expect((await issue(GOOD, { origin: APP, ttlSeconds: 3600 })).status).toBe(200);
    expect((await call('/v1/tokens', { method: 'GET', headers: { 'X-API-Key': GOOD } })).status).toBe(405);
  });

  it('a token is charged to the key that issued it: its streams count against that key\'s limits', async () => {
    const token = (await issue(GOOD, { origin: APP })).json.token as string;
    const long = { ...body, text: longText(3000) };
    const viaToken = await call('/v1/tts/stream', { headers: { Authorization: `Bearer ${token}`, Origin: APP }, body: long });
    const viaKey = await call('/v1/tts/stream', { headers: { 'X-API-Key': GOOD }, body: long });
    expect([viaToken.status, viaKey.status]).toEqual([200, 200]);
    // The key allows 2 streams at once: a third, by key or by token, is refused; another key is not affected.
    for (const headers of [{ 'X-API-Key': GOOD }, { Authorization: `Bearer ${token}`, Origin: APP }] as Array<Record<string, string>>) {
      const refused = await call('/v1/tts/stream', { headers, body });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await errorCode(refused)).code).toBe('too-many-streams');
    }
    const other = await call('/v1/tts/stream', { headers: { 'X-API-Key': OTHER }, body });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
    await viaToken.body!.cancel();
    await viaKey.body!.cancel();
    await vi.waitFor(() => expect(server.openStreams).toBe(0), SETTLE);
    const again = await call('/v1/tts/stream', { headers: { Authorization: `Bearer ${token}`, Origin: APP }, body });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
  });

  it('token issuance is rate-limited per key with Retry-After', async () => {
    const limited = createServer({ engine, keys: [GOOD], env: {}, logger: false, tokens: { secret: SECRET }, limits: { burst: 2, requestsPerSecond: 0.001 } }); // refills one in 1000 s: never during the test
    const post = () => limited.app.fetch(new Request('http://x/v1/tokens', { method: 'POST', headers: { 'X-API-Key': GOOD }, body: JSON.stringify({ origin: APP }) }));
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    const third = await post();
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('CORS allowlist', () => {
  it('a disallowed origin\'s preflight gets no grant (so the browser blocks the call); an allowed one may send Authorization', async () => {
    const preflight = (origin: string) =>
      fetch(`${listening.url}/v1/tts/stream`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
      });
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await preflight(APP);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect((allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
    // Even a direct POST from a disallowed origin gets no Access-Control-Allow-Origin: a page cannot read it.
    const direct = await ttsStream(listening.url, body, { 'X-API-Key': GOOD, Origin: 'https://evil.example' });
    expect(direct.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('server-wide concurrency limit', () => {
  it('past maxConcurrentStreams new streams get 429 + Retry-After; the admitted ones are not degraded', async () => {
    const limited = createServer({ engine, keys: [GOOD], env: {}, logger: false, limits: { maxConcurrentStreams: 3, burst: 1000, requestsPerSecond: 1000 } });
    // In-process, so an unread stream stays open (over loopback the kernel's socket buffers would swallow it).
    const post = (b: unknown) => limited.app.fetch(new Request('http://x/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': GOOD }, body: JSON.stringify(b) }));
    const bodies = [0, 1, 2].map((i) => ({ ...body, text: `Stream number ${i + 1} is admitted and plays to its end, every byte of it. ${longText(300)}` }));
    const references = [];
    for (const b of bodies) references.push(Buffer.from(await (await post(b)).arrayBuffer()));
    const opened = await Promise.all(bodies.map(post));
    expect(opened.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(limited.openStreams).toBe(3);
    const refused = await post(body);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'too-many-streams', message: 'The server is at its limit of 3 streams' });
    const heard = await Promise.all(opened.map(async (r) => Buffer.from(await r.arrayBuffer())));
    for (const [i, bytes] of heard.entries()) expect(bytes.equals(references[i])).toBe(true);
    await vi.waitFor(() => expect(limited.openStreams).toBe(0), SETTLE);
    const after = await post(body);
    expect(after.status).toBe(200);
    await after.arrayBuffer();
  });
});
