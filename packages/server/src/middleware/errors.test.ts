// The one error mapping: an ApiError becomes its JSON response; anything else a 500 that tells nothing.
import fc from 'fast-check';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import type { Logger } from '../logger.js';
import { errorHandler, methodNotAllowed, notFound } from './errors.js';

function appThrowing(error: unknown, said: string[] = []): Hono {
  const logger: Logger = { info: (m) => said.push(m), warn: (m) => said.push(m), error: (m) => said.push(m) };
  const app = new Hono();
  app.onError(errorHandler(logger));
  app.notFound(notFound);
  app.get('/boom', () => {
    throw error;
  });
  return app;
}

async function errorBody(res: Response): Promise<{ code: string; message: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  return body.error;
}

describe('errorHandler', () => {
  it('sends an ApiError as its status, {error:{code,message}} and its headers', async () => {
    const res = await appThrowing(new ApiError(429, 'rate-limited', 'Slow down', { 'Retry-After': '3' })).request('/boom');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await errorBody(res)).toEqual({ code: 'rate-limited', message: 'Slow down' });
  });

  it('maps any status, code and message the same way', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 400, max: 599 }), fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 80 }), async (status, code, message) => {
        const res = await appThrowing(new ApiError(status, code, message)).request('/boom');
        expect(res.status).toBe(status);
        expect(await errorBody(res)).toEqual({ code, message });
      }),
      { numRuns: 50 },
    );
  });

  it('sends anything else as 500 internal without its message or stack, and logs it in full', async () => {
    const said: string[] = [];
    const res = await appThrowing(new Error('secret /srv/internal/path exploded'), said).request('/boom');
    expect(res.status).toBe(500);
    const error = await errorBody(res);
    expect(error).toEqual({ code: 'internal', message: 'Internal server error' });
    expect(JSON.stringify(error)).not.toMatch(/secret|srv|exploded|at /);
    expect(said.join('\n')).toMatch(/GET \/boom failed: .*exploded/);
  });

  it('unknown routes are a JSON 404; other methods on a route are a 405 with Allow', async () => {
    const app = appThrowing(new Error('unused'));
    app.all('/only-post', methodNotAllowed('POST', '/only-post'));
    const missing = await app.request('/nowhere');
    expect(missing.status).toBe(404);
    expect(await errorBody(missing)).toEqual({ code: 'not-found', message: 'No route for GET /nowhere' });
    const wrong = await app.request('/only-post', { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await errorBody(wrong)).code).toBe('method-not-allowed');
  });
});
