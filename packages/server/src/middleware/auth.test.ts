// Who a request speaks for: API keys (compared in constant time) and browser tokens bound to an origin.
import { Hono } from 'hono';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppEnv } from '../app-env.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { createKeyStore } from '../keys.js';
import { createTokenSigner } from '../tokens.js';
import { requireKey } from './auth.js';
import { errorHandler } from './errors.js';

const crypto = vi.hoisted(() => ({ compares: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      crypto.compares++;
      return real.timingSafeEqual(a, b);
    },
  };
});

const KEYS = ['first-key-0123456789', 'second-key-0123456789', 'third-key-0123456789'];
const APP_ORIGIN = 'https://app.example';
const NOW_S = 1_700_000_000;

function appWith(keys = createKeyStore(KEYS), withTokens = true) {
  const tokens = createTokenSigner('a test secret of some length');
  const app = new Hono<AppEnv>();
  app.onError(errorHandler({ info() {}, warn() {}, error() {} }));
  app.get('/who', requireKey({ keys, tokens: withTokens ? tokens : undefined, nowS: () => NOW_S }), (c) => c.text(c.var.keyId));
  return { app, keys, tokens };
}

async function refusal(res: Response): Promise<{ status: number; code: string; message: string }> {
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...error };
}

beforeEach(() => {
  crypto.compares = 0;
});

describe('requireKey: API keys', () => {
  it('a configured key passes and the handler sees its id, not the key', async () => {
    const { app, keys } = appWith();
    const res = await app.request('/who', { headers: { 'X-API-Key': KEYS[1] } });
    expect(res.status).toBe(200);
    const id = await res.text();
    expect(id).toBe(keys.check(KEYS[1]));
    expect(id).toMatch(/^[0-9a-f]{8}$/);
  });

  it('a missing key is 401 unauthorized', async () => {
    expect(await refusal(await appWith().app.request('/who'))).toMatchObject({ status: 401, code: 'unauthorized', message: expect.stringMatching(/Missing X-API-Key/) });
  });

  it('a wrong key is 401 unauthorized, and so is an empty or oversized one', async () => {
    const { app } = appWith();
    for (const key of ['nope', `${KEYS[0]}x`, KEYS[0].slice(0, -1), '', 'k'.repeat(5000)]) {
      expect(await refusal(await app.request('/who', { headers: { 'X-API-Key': key } }))).toMatchObject({ status: 401, code: 'unauthorized' });
    }
  });

  it('compares in constant time against every key: no early exit on a match', async () => {
    const { app } = appWith();
    await app.request('/who', { headers: { 'X-API-Key': KEYS[0] } });
    expect(crypto.compares).toBe(KEYS.length);
    crypto.compares = 0;
    await app.request('/who', { headers: { 'X-API-Key': 'wrong-key-0123456789' } });
    expect(crypto.compares).toBe(KEYS.length);
  });
});

describe('requireKey: browser tokens', () => {
  const bearer = (token: string, origin = APP_ORIGIN) => ({ Authorization: `Bearer ${token}`, Origin: origin });

  it('a token from a configured key, sent from its origin, speaks for that key (Bearer or X-API-Token)', async () => {
    const { app, keys, tokens } = appWith();
    const keyId = keys.check(KEYS[2])!;
    const token = tokens.issue({ origin: APP_ORIGIN, exp: NOW_S + 60, keyId });
    expect(await (await app.request('/who', { headers: bearer(token) })).text()).toBe(keyId);
    expect(await (await app.request('/who', { headers: { 'X-API-Token': token, Origin: APP_ORIGIN } })).text()).toBe(keyId);
  });

  it('expired, tampered, foreign-origin and orphaned tokens are 401', async () => {
    const { app, keys, tokens } = appWith();
    const keyId = keys.check(KEYS[0])!;
    const good = tokens.issue({ origin: APP_ORIGIN, exp: NOW_S + 60, keyId });
    const expired = tokens.issue({ origin: APP_ORIGIN, exp: NOW_S, keyId });
    const orphan = tokens.issue({ origin: APP_ORIGIN, exp: NOW_S + 60, keyId: 'deadbeef' });
    const foreign = createTokenSigner('another secret entirely, long').issue({ origin: APP_ORIGIN, exp: NOW_S + 60, keyId });
    expect(await refusal(await app.request('/who', { headers: bearer(expired) }))).toMatchObject({ status: 401, code: 'token-expired' });
    expect(await refusal(await app.request('/who', { headers: bearer(`${good}x`) }))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await refusal(await app.request('/who', { headers: bearer(foreign) }))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await refusal(await app.request('/who', { headers: bearer(good, 'https://evil.example') }))).toMatchObject({ status: 401, message: expect.stringMatching(/another origin/) });
    expect(await refusal(await app.request('/who', { headers: { Authorization: `Bearer ${good}` } }))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await refusal(await app.request('/who', { headers: bearer(orphan) }))).toMatchObject({ status: 401, message: expect.stringMatching(/no longer valid/) });
  });

  it('where tokens are not accepted, a token is 401 asking for X-API-Key', async () => {
    const { app, keys, tokens } = appWith(createKeyStore(KEYS), false);
    const token = tokens.issue({ origin: APP_ORIGIN, exp: NOW_S + 60, keyId: keys.check(KEYS[0])! });
    expect(await refusal(await app.request('/who', { headers: bearer(token) }))).toMatchObject({ status: 401, code: 'unauthorized', message: expect.stringMatching(/send X-API-Key/) });
    expect(await refusal(await app.request('/who'))).toMatchObject({ status: 401, message: 'Missing X-API-Key header' });
  });
});

describe('requireKey: failed-login throttling', () => {
  /** An async store (as a shared one would be) that blocks an address after two failures, and says what it was told. */
  function recordingThrottle() {
    const told: string[] = [];
    const failures = new Map<string, number>();
    const throttle: AuthThrottle = {
      check: async (address) => ((failures.get(address) ?? 0) >= 2 ? { failures: failures.get(address)!, retryAfterS: 42 } : undefined),
      failure: async (address) => {
        told.push(`failure ${address}`);
        failures.set(address, (failures.get(address) ?? 0) + 1);
      },
      success: async (address) => {
        told.push(`success ${address}`);
      },
    };
    return { throttle, told };
  }
  function throttledApp(throttle: AuthThrottle, trustProxy: boolean) {
    const app = new Hono<AppEnv>();
    app.onError(errorHandler({ info() {}, warn() {}, error() {} }));
    app.get('/who', requireKey({ keys: createKeyStore(KEYS), throttle, trustProxy }), (c) => c.text(c.var.keyId));
    // As @hono/node-server passes it: the raw request, whose socket has the client's address.
    const env = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
    return (headers: Record<string, string>, address = '10.0.0.1') => app.request('/who', { headers }, env(address));
  }

  it('records each outcome against the address; a blocked address is 429 with Retry-After before its key is compared', async () => {
    const { throttle, told } = recordingThrottle();
    const request = throttledApp(throttle, false);
    expect((await request({ 'X-API-Key': KEYS[0] })).status).toBe(200);
    expect((await request({ 'X-API-Key': 'wrong-0123456789' })).status).toBe(401);
    expect((await request({})).status).toBe(401);
    expect(told).toEqual(['success 10.0.0.1', 'failure 10.0.0.1', 'failure 10.0.0.1']);
    crypto.compares = 0;
    const blocked = await request({ 'X-API-Key': KEYS[0] });
    expect(await refusal(blocked)).toEqual({ status: 429, code: 'too-many-auth-failures', message: 'Too many failed logins from this address: try again in 42 s' });
    expect(blocked.headers.get('retry-after')).toBe('42');
    expect(crypto.compares).toBe(0);
    expect((await request({ 'X-API-Key': KEYS[0] }, '10.0.0.2')).status).toBe(200);
  });

  it("X-Forwarded-For's first hop is the address only with trustProxy", async () => {
    const { throttle, told } = recordingThrottle();
    await throttledApp(throttle, false)({ 'X-API-Key': 'wrong-0123456789', 'X-Forwarded-For': '203.0.113.7, 10.0.0.9' });
    await throttledApp(throttle, true)({ 'X-API-Key': 'wrong-0123456789', 'X-Forwarded-For': '203.0.113.7, 10.0.0.9' });
    expect(told).toEqual(['failure 10.0.0.1', 'failure 203.0.113.7']);
  });

  it('called without a Node server (no address), requests are not throttled', async () => {
    const { throttle, told } = recordingThrottle();
    const app = new Hono<AppEnv>();
    app.onError(errorHandler({ info() {}, warn() {}, error() {} }));
    app.get('/who', requireKey({ keys: createKeyStore(KEYS), throttle }), (c) => c.text(c.var.keyId));
    for (let i = 0; i < 5; i++) expect((await app.request('/who', { headers: { 'X-API-Key': 'wrong-0123456789' } })).status).toBe(401);
    expect(told).toEqual([]);
  });
});
