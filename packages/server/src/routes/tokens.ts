import { Hono } from 'hono';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { readJsonObject } from '../json-body.js';
import type { KeyStore } from '../keys.js';
import type { Limiter } from '../limiter.js';
import { requireKey } from '../middleware/auth.js';
import { methodNotAllowed } from '../middleware/errors.js';
import { rateLimit } from '../middleware/limits.js';
import { DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, normalOrigin, type TokenSigner } from '../tokens.js';

/** Token requests are small: an origin and a lifetime. */
const MAX_TOKEN_BODY_BYTES = 4096;

export interface TokenRoutesDeps {
  keys: KeyStore;
  tokens: TokenSigner;
  limiter: Limiter;
  /** Origins tokens may be issued for: `'*'` for any. */
  origins: '*' | readonly string[];
  /** How long the body may take to arrive, ms. Default 20 s. */
  bodyTimeoutMs?: number;
  /** Failed-login throttling per client address. */
  throttle?: AuthThrottle;
  /** Client addresses from `X-Forwarded-For`'s first hop. */
  trustProxy?: boolean;
  /** The clock, in Unix seconds; for tests. */
  nowS?: () => number;
}

/**
 * POST /v1/tokens `{origin, ttlSeconds?}` with `X-API-Key` (never a token):
 * a short-lived browser token bound to `origin`, which a page there sends
 * instead of the key. The key (and the address's failed logins) and the
 * key's request rate are checked from the headers before the body is read.
 * POST /v1/tokens/revoke `{token}` with the key that issued it: the token is
 * refused from then on until it expires (401 `token-revoked`), on every
 * server sharing the same Redis. Other methods get 405.
 *
 * ```ts
 * app.route('/', tokenRoutes({ keys, tokens, limiter, origins: '*' }));
 * ```
 */
export function tokenRoutes(deps: TokenRoutesDeps): Hono<AppEnv> {
  const nowS = deps.nowS ?? (() => Date.now() / 1000);
  const bodyLimits = { maxBytes: MAX_TOKEN_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs ?? 20_000 };
  return new Hono<AppEnv>()
    .post('/v1/tokens', requireKey({ keys: deps.keys, throttle: deps.throttle, trustProxy: deps.trustProxy }), rateLimit(deps.limiter), async (c) => {
      const body = await readJsonObject(c, bodyLimits, '{"origin": "https://app.example", "ttlSeconds": 300}');
      const origin = normalOrigin(body.origin);
      if (!origin) throw new ApiError(400, 'invalid-origin', 'origin must be an http(s) origin such as "https://app.example" (scheme, host and port only)');
      if (deps.origins !== '*' && !deps.origins.includes(origin)) throw new ApiError(400, 'origin-not-allowed', `${origin} is not an allowed origin on this server`);
      const ttl = body.ttlSeconds ?? DEFAULT_TOKEN_TTL_S;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S) throw new ApiError(400, 'invalid-ttl', `ttlSeconds must be a whole number from 1 to ${MAX_TOKEN_TTL_S}`);
      const exp = Math.floor(nowS()) + ttl;
      const token = deps.tokens.issue({ origin, exp, keyId: c.var.keyId });
      return c.json({ token, origin, expiresAt: new Date(exp * 1000).toISOString(), expiresIn: ttl }, 200, { 'Cache-Control': 'no-store' });
    })
    .post('/v1/tokens/revoke', requireKey({ keys: deps.keys, throttle: deps.throttle, trustProxy: deps.trustProxy }), rateLimit(deps.limiter), async (c) => {
      const body = await readJsonObject(c, { ...bodyLimits, maxBytes: 2 * MAX_TOKEN_BODY_BYTES }, '{"token": "vpt1.…"}');
      const revocations = deps.tokens.revocations;
      if (!revocations) throw new ApiError(404, 'not-found', 'Tokens cannot be revoked on this server');
      const claims = typeof body.token === 'string' ? deps.tokens.claims(body.token) : undefined;
      if (!claims) throw new ApiError(400, 'invalid-token', 'token must be a browser token issued by this server');
      if (claims.keyId !== c.var.keyId) throw new ApiError(403, 'forbidden', 'Only the key that issued a token can revoke it');
      const expired = claims.exp <= nowS();
      if (!expired) await revocations.revoke(body.token as string, claims.exp);
      return c.json({ revoked: !expired, expiresAt: new Date(claims.exp * 1000).toISOString() }, 200, { 'Cache-Control': 'no-store' });
    })
    .all('/v1/tokens/revoke', methodNotAllowed('POST', '/v1/tokens/revoke'))
    .all('/v1/tokens', methodNotAllowed('POST', '/v1/tokens'));
}
