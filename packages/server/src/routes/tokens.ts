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
 * Other methods get 405.
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
    .all('/v1/tokens', methodNotAllowed('POST', '/v1/tokens'));
}
