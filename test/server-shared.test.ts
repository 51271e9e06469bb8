// Several server processes sharing one real redis-server: one key's rate and open streams count across all of them,
// a stream cut on one is resumed byte-exact on another, a dead server's slots free themselves, and a Redis outage
// leaves every server serving on its own limits until Redis returns.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { joinBytes } from '@voxpipe/core/testing';
import { eventually, limitFor, RUN_MS, SETTLE, START_MS } from './support/budgets.js';
import { startInstance, type Instance } from './support/instances.js';
import { hasRedisServer, startRedis, type TestRedis } from './support/redis.js';

const KEY = 'shared-key-0123456789';
const LEASE_MS = 3000;
const started: Instance[] = [];
let redis: TestRedis;

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const limitsOf = async (url: string) => ((await (await fetch(`${url}/healthz`)).json()) as { limits: string }).limits;
const short = { text: 'Hi.', model: 'aura-lite' };
/** 5,000 characters at 100 ms each: a stream far larger than any socket buffer, so it stays open while unread. */
const endless = { text: 'a'.repeat(5000), model: 'aura-lite' };

/** Asks for a stream on `url` every 50 ms until one is admitted (up to SETTLE.timeout); the last answer. */
async function admittedOn(url: string): Promise<Response> {
  const deadline = performance.now() + SETTLE.timeout;
  for (;;) {
    const res = await post(url, endless);
    if (res.status === 200 || performance.now() > deadline) return res;
    await res.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pair(limits: Record<string, number>, extra: Record<string, unknown> = {}): Promise<[Instance, Instance]> {
  const options = { keys: [KEY], redis: { url: redis.url, leaseMs: LEASE_MS, commandTimeoutMs: 10_000 }, limits, msPerChar: 100, ...extra };
  const both = await Promise.all([startInstance(options), startInstance(options)]);
  started.push(...both);
  for (const instance of both) expect(await eventually(() => /connected: limits are shared/.test(instance.output))).toBe(true);
  return both;
}

describe.skipIf(!hasRedisServer)('servers sharing one Redis (redis-server)', () => {
  beforeAll(async () => {
    redis = await startRedis();
  }, START_MS);
  afterEach(async () => {
    await Promise.all(started.splice(0).map((instance) => instance.kill()));
    // Each test starts from an empty Redis: no bucket, lease or failed login of the one before.
    redis.flush();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('two servers give one key exactly its burst between them, however the requests are spread', async () => {
    const [a, b] = await pair({ burst: 6, requestsPerSecond: 0.001, concurrentStreamsPerKey: 100 });
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => post(i % 2 ? a.url : b.url, short)));
    const ok = answers.filter((res) => res.status === 200);
    const refused = answers.filter((res) => res.status === 429);
    expect(ok).toHaveLength(6);
    expect(refused).toHaveLength(10);
    for (const res of ok) await res.arrayBuffer();
    expect(new Set(await Promise.all(refused.map(codeOf)))).toEqual(new Set(['rate-limited']));
    for (const instance of [a, b]) expect(instance.output).not.toMatch(/unreachable/);
  }, limitFor(2 * START_MS, RUN_MS));

  it("one key's open streams count on both servers; a killed server's slots free themselves when their lease runs out", async () => {
    const [a, b] = await pair({ burst: 1000, requestsPerSecond: 1000, concurrentStreamsPerKey: 3 });
    const held = [await post(a.url, endless), await post(a.url, endless), await post(b.url, endless)];
    expect(held.map((res) => res.status)).toEqual([200, 200, 200]);
    for (const url of [a.url, b.url]) {
      const refused = await post(url, endless);
      expect(refused.status).toBe(429);
      expect(await codeOf(refused)).toBe('too-many-streams');
    }
    // A stream that ends on A frees its slot for B.
    await held[0].body!.cancel();
    expect((await admittedOn(b.url)).status).toBe(200);
    // A dies holding one stream: its lease keeps the slot until it runs out, then B may use it.
    const killedAt = performance.now();
    await a.kill();
    const right = await post(b.url, endless);
    expect(right.status === 429 || performance.now() - killedAt >= LEASE_MS).toBe(true);
    if (right.status === 429) await right.arrayBuffer();
    // Freed by the lease running out (how long after the kill depends on when A last renewed it).
    expect((await admittedOn(b.url)).status).toBe(200);
  }, limitFor(2 * START_MS, RUN_MS, SETTLE.timeout));

  it('a stream cut on one server resumes byte-exact on the other (Range + If-Range, the same ETag on both)', async () => {
    const [a, b] = await pair({ burst: 1000, requestsPerSecond: 1000 }, { msPerChar: 10 });
    for (const format of ['pcm', 'mp3'] as const) {
      // 5 s of audio: far more than the first read gives.
      const body = { text: 'The quick brown fox jumps over the lazy dog. '.repeat(12), model: 'aura-lite', format };
      const whole = new Uint8Array(await (await post(b.url, body)).arrayBuffer());
      const first = await post(a.url, body);
      const tag = first.headers.get('etag');
      expect(tag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      const reader = first.body!.getReader();
      const got: Uint8Array[] = [];
      let have = 0;
      while (have < 4096) {
        const { value } = await reader.read();
        got.push(value!);
        have += value!.byteLength;
      }
      await reader.cancel();
      const rest = await post(b.url, body, { Range: `bytes=${have}-`, 'If-Range': tag! });
      expect(rest.status).toBe(206);
      expect(rest.headers.get('etag')).toBe(tag);
      expect(rest.headers.get('content-range')).toBe(`bytes ${have}-${whole.byteLength - 1}/${whole.byteLength}`);
      expect(joinBytes([...got, new Uint8Array(await rest.arrayBuffer())])).toEqual(whole);
    }
  }, limitFor(2 * START_MS, RUN_MS));

  it('a browser token revoked on one server is refused on the other; failed logins from one address count on both', async () => {
    const [a, b] = await pair({ burst: 1000, requestsPerSecond: 1000, authFailures: 5 }, { tokens: { secret: 'a token secret shared by both servers' }, msPerChar: 10 });
    const issued = await fetch(`${a.url}/v1/tokens`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify({ origin: 'https://app.example' }) });
    const { token } = (await issued.json()) as { token: string };
    const speak = (url: string) => fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, Origin: 'https://app.example' }, body: JSON.stringify(short) });
    await (await speak(b.url)).arrayBuffer();
    expect((await fetch(`${a.url}/v1/tokens/revoke`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: JSON.stringify({ token }) })).status).toBe(200);
    const refused = await speak(b.url);
    expect([refused.status, await codeOf(refused)]).toEqual([401, 'token-revoked']);
    // The revoked token was one failed login; two wrong keys on each server make five, the last on B: blocked on both.
    for (const url of [a.url, b.url, a.url, b.url]) expect((await post(url, short, { 'X-API-Key': 'wrong-key-0123456789' })).status).toBe(401);
    for (const url of [a.url, b.url]) {
      const blocked = await post(url, short);
      expect([blocked.status, await codeOf(blocked)]).toEqual([429, 'too-many-auth-failures']);
    }
  }, limitFor(2 * START_MS, RUN_MS));

  it('Redis killed mid-way: both servers keep serving on their own limits, logged once; when it returns the shared limits apply again', async () => {
    const [a, b] = await pair({ burst: 4, requestsPerSecond: 0.001, concurrentStreamsPerKey: 100 });
    const statuses = async (n: number) => {
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => post(i % 2 ? a.url : b.url, short)));
      for (const res of answers) await res.arrayBuffer();
      return answers.map((res) => res.status).sort();
    };
    expect(await statuses(8)).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);

    await redis.kill();
    // Each server now decides alone, with a bucket of its own: both serve again.
    expect((await post(a.url, short)).status).toBe(200);
    expect((await post(b.url, short)).status).toBe(200);
    for (let i = 0; i < 3; i++) await (await post(a.url, short)).arrayBuffer();
    expect(await eventually(() => /unreachable/.test(a.output) && /unreachable/.test(b.output))).toBe(true);
    for (const instance of [a, b]) expect(instance.output.match(/unreachable/g)).toHaveLength(1);
    expect(await limitsOf(a.url)).toBe('local-fallback');

    await redis.restart();
    let both = false;
    const deadline = performance.now() + SETTLE.timeout;
    while (!both && performance.now() < deadline) {
      both = (await limitsOf(a.url)) === 'redis' && (await limitsOf(b.url)) === 'redis';
      if (!both) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(both).toBe(true);
    for (const instance of [a, b]) expect(instance.output).toMatch(/is back: shared limits apply again/);
    // Redis came back empty: one shared burst of 4 again, between both servers.
    expect(await statuses(8)).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
  }, limitFor(2 * START_MS, RUN_MS, SETTLE.timeout, START_MS));

  it("with whenDown 'refuse', a server refuses limited requests with 503 while Redis is unreachable, and serves again when it returns", async () => {
    const [a] = await pair({ burst: 1000, requestsPerSecond: 1000 }, { redis: { url: redis.url, leaseMs: LEASE_MS, commandTimeoutMs: 10_000, whenDown: 'refuse' } });
    await (await post(a.url, short)).arrayBuffer();
    await redis.kill();
    const refused = await post(a.url, short);
    expect([refused.status, refused.headers.get('retry-after'), await codeOf(refused)]).toEqual([503, '5', 'unavailable']);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    await redis.restart();
    let res: Response | undefined;
    const deadline = performance.now() + SETTLE.timeout;
    while ((res = await post(a.url, short)).status !== 200 && performance.now() < deadline) {
      await res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }, limitFor(2 * START_MS, RUN_MS, SETTLE.timeout, START_MS));
});
