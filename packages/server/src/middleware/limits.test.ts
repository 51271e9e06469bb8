// Per-key request rate, stream slots and shutdown, as middleware in front of a handler.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import { MemoryLimiter as Limiter } from '../limiter.js';
import { errorHandler } from './errors.js';
import { openUntilClosing, rateLimit, streamSlot } from './limits.js';

const silent = { info() {}, warn() {}, error() {} };
const frozen = { requestsPerSecond: 1, burst: 2, concurrentStreamsPerKey: 1, maxConcurrentStreams: 10, now: () => 0 };

function appWith(limiter: Limiter, handler: (c: import('hono').Context<AppEnv>) => Response | Promise<Response>) {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(silent));
  app.use('*', async (c, next) => {
    c.set('keyId', c.req.header('x-key') ?? 'anon');
    await next();
  });
  app.get('/rate', rateLimit(limiter), (c) => c.text('ok'));
  app.get('/stream', streamSlot(limiter), handler);
  return app;
}

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('rateLimit', () => {
  it('lets the burst through, then 429 rate-limited with Retry-After; other keys have their own budget', async () => {
    const app = appWith(new Limiter(frozen), (c) => c.text('ok'));
    expect((await app.request('/rate', { headers: { 'x-key': 'a' } })).status).toBe(200);
    expect((await app.request('/rate', { headers: { 'x-key': 'a' } })).status).toBe(200);
    const refused = await app.request('/rate', { headers: { 'x-key': 'a' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await codeOf(refused)).toBe('rate-limited');
    expect((await app.request('/rate', { headers: { 'x-key': 'b' } })).status).toBe(200);
  });
});

describe('streamSlot', () => {
  it('a slot the handler hands to its body stays taken until released: a second stream is 429 too-many-streams', async () => {
    const limiter = new Limiter({ ...frozen, burst: 100 });
    let release: (() => void) | undefined;
    const app = appWith(limiter, (c) => {
      release = c.var.takeStreamSlot();
      return c.text('streaming');
    });
    expect((await app.request('/stream')).status).toBe(200);
    expect(limiter.openStreams).toBe(1);
    const second = await app.request('/stream');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(await codeOf(second)).toBe('too-many-streams');
    release!();
    expect(limiter.openStreams).toBe(0);
    expect((await app.request('/stream')).status).toBe(200);
  });

  it('a slot not handed over is given back when the handler returns or throws', async () => {
    const limiter = new Limiter({ ...frozen, burst: 100 });
    const returns = appWith(limiter, (c) => c.text('no stream after all', 400));
    expect((await returns.request('/stream')).status).toBe(400);
    expect(limiter.openStreams).toBe(0);
    const throws = appWith(limiter, () => {
      throw new ApiError(400, 'unknown-voice', 'no such voice');
    });
    expect((await throws.request('/stream')).status).toBe(400);
    expect(limiter.openStreams).toBe(0);
    const fails = appWith(limiter, () => {
      throw new Error('engine exploded');
    });
    expect((await fails.request('/stream')).status).toBe(500);
    expect(limiter.openStreams).toBe(0);
  });
});

describe('openUntilClosing', () => {
  it('passes while open; 503 unavailable with Retry-After once closing', async () => {
    let closing = false;
    const app = new Hono<AppEnv>();
    app.onError(errorHandler(silent));
    app.get('/', openUntilClosing(() => closing), (c) => c.text('ok'));
    expect((await app.request('/')).status).toBe(200);
    closing = true;
    const res = await app.request('/');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await codeOf(res)).toBe('unavailable');
  });
});
