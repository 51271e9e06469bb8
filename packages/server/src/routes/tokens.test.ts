// POST /v1/tokens through the app: a key buys a short-lived token for one origin.
import { describe, expect, it } from 'vitest';
import { createServer } from '../server.js';
import { toneEngine } from '../testing/tone-engine.js';
import { createTokenSigner } from '../tokens.js';

const KEY = 'token-key-0123456789';
const SECRET = 'a token secret for the route tests';
const APP = 'https://app.example';

function serverWith(options: Parameters<typeof createServer>[0] = {}) {
  return createServer({ engine: toneEngine(), keys: [KEY], env: {}, logger: false, tokens: { secret: SECRET }, limits: { burst: 1000, requestsPerSecond: 1000 }, ...options });
}
const issue = (server: ReturnType<typeof createServer>, body: unknown, headers: Record<string, string> = { 'X-API-Key': KEY }) =>
  server.app.request('/v1/tokens', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { code: string; message: string } }).error });

describe('POST /v1/tokens', () => {
  it('issues a token bound to the origin, which the stream endpoint then accepts from that origin', async () => {
    const server = serverWith();
    const before = Math.floor(Date.now() / 1000);
    const res = await issue(server, { origin: APP, ttlSeconds: 120 });
    const after = Math.floor(Date.now() / 1000);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; origin: string; expiresAt: string; expiresIn: number };
    expect(body).toMatchObject({ origin: APP, expiresIn: 120 });
    const expiresS = Date.parse(body.expiresAt) / 1000;
    expect(expiresS).toBeGreaterThanOrEqual(before + 120);
    expect(expiresS).toBeLessThanOrEqual(after + 120);
    const check = createTokenSigner(SECRET).verify(body.token, APP, Date.now() / 1000);
    expect(check.ok).toBe(true);
    const streamed = await server.app.request('/v1/tts/stream', { method: 'POST', headers: { Authorization: `Bearer ${body.token}`, Origin: APP }, body: JSON.stringify({ text: 'Hi.', model: 'aura-lite' }) });
    expect(streamed.status).toBe(200);
    await streamed.arrayBuffer();
  });

  it('refuses bad requests with a code', async () => {
    const server = serverWith();
    const cases: Array<[unknown, number, string]> = [
      ['{"origin":', 400, 'invalid-json'],
      ['["https://app.example"]', 400, 'invalid-body'],
      [{ origin: 'app.example' }, 400, 'invalid-origin'],
      [{ origin: `${APP}/path` }, 400, 'invalid-origin'],
      [{ origin: APP, ttlSeconds: 0 }, 400, 'invalid-ttl'],
      [{ origin: APP, ttlSeconds: 3601 }, 400, 'invalid-ttl'],
      [{ origin: APP, ttlSeconds: 1.5 }, 400, 'invalid-ttl'],
      [{ origin: APP, pad: 'x'.repeat(5000) }, 413, 'payload-too-large'],
    ];
    for (const [body, status, code] of cases) expect(await errorOf(await issue(server, body))).toMatchObject({ status, code });
  });

  it('needs an API key, never a token; only configured origins when CORS names them; other methods 405', async () => {
    const server = serverWith({ cors: { origins: [APP] } });
    expect(await errorOf(await issue(server, { origin: APP }, {}))).toMatchObject({ status: 401, code: 'unauthorized' });
    const token = ((await (await issue(server, { origin: APP })).json()) as { token: string }).token;
    expect(await errorOf(await issue(server, { origin: APP }, { Authorization: `Bearer ${token}`, Origin: APP }))).toMatchObject({ status: 401, message: expect.stringMatching(/send X-API-Key/) });
    expect(await errorOf(await issue(server, { origin: 'https://other.example' }))).toMatchObject({ status: 400, code: 'origin-not-allowed' });
    const get = await server.app.request('/v1/tokens');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it("counts against the key's request rate: past the burst 429 with Retry-After", async () => {
    const server = serverWith({ limits: { burst: 2, requestsPerSecond: 0.01 } });
    expect((await issue(server, { origin: APP })).status).toBe(200);
    expect((await issue(server, { origin: APP })).status).toBe(200);
    const refused = await issue(server, { origin: APP });
    expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'rate-limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('POST /v1/tokens/revoke', () => {
  it('the issuing key revokes a token: refused from then on (401 token-revoked) on every route that takes tokens; another key may not', async () => {
    const OTHER = 'other-key-0123456789';
    const server = serverWith({ keys: [KEY, OTHER] });
    const { token } = (await (await issue(server, { origin: APP })).json()) as { token: string };
    const speak = () => server.app.request('/v1/tts/stream', { method: 'POST', headers: { Authorization: `Bearer ${token}`, Origin: APP }, body: JSON.stringify({ text: 'Hi.', model: 'aura-lite' }) });
    const revoke = (key: string, body: unknown) => server.app.request('/v1/tokens/revoke', { method: 'POST', headers: { 'X-API-Key': key }, body: JSON.stringify(body) });
    await (await speak()).arrayBuffer();
    expect(await errorOf(await revoke(OTHER, { token }))).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await speak()).status).toBe(200);
    expect(await errorOf(await revoke(KEY, { token: 'vpt1.not.a-token' }))).toMatchObject({ status: 400, code: 'invalid-token' });
    const revoked = await revoke(KEY, { token });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ revoked: true });
    expect(await errorOf(await speak())).toMatchObject({ status: 401, code: 'token-revoked' });
    expect(await errorOf(await server.app.request('/v1/tokens/revoke', { method: 'POST', headers: { Authorization: `Bearer ${token}`, Origin: APP }, body: JSON.stringify({ token }) }))).toMatchObject({ status: 401 });
    expect((await server.app.request('/v1/tokens/revoke')).status).toBe(405);
  });
});
