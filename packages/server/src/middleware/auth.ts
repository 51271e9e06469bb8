import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import { clientAddress, type AuthThrottle } from '../auth-throttle.js';
import type { KeyStore } from '../keys.js';
import type { TokenCheck, TokenSigner } from '../tokens.js';

export interface AuthOptions {
  /** The API keys (compared in constant time by the store). */
  keys: KeyStore;
  /** Browser tokens are accepted when a signer is given (`Authorization: Bearer`, or `X-API-Token`); without one only `X-API-Key` is. */
  tokens?: TokenSigner;
  /** Failed-login throttling per client address: checked before the key is compared. */
  throttle?: AuthThrottle;
  /** Take the client's address from `X-Forwarded-For`'s first hop (only behind a proxy that sets it). Default false: the socket's address. */
  trustProxy?: boolean;
  /** The clock, in Unix seconds; for tests. */
  nowS?: () => number;
}

const TOKEN_REFUSALS: Record<Extract<TokenCheck, { ok: false }>['reason'], string> = {
  malformed: 'The token is not valid',
  'bad-signature': 'The token is not valid',
  expired: 'The token has expired: ask your backend for a new one',
  'wrong-origin': 'The token was issued for another origin',
};

/**
 * Finds the key a request speaks for and sets `keyId`, or throws a 401: an
 * API key in `X-API-Key`, or (when `tokens` is given) a browser token checked
 * against the request's `Origin`, the keys still configured and the
 * revoked tokens (401 `token-revoked`).
 * Only headers are read (never the body). With a `throttle`, a client
 * address that failed too often is refused with 429
 * `too-many-auth-failures` and `Retry-After` before its key is compared,
 * and every outcome is recorded against its address.
 *
 * ```ts
 * app.post('/v1/tts/stream', requireKey({ keys, tokens, throttle }), (c) => c.text(c.var.keyId));
 * ```
 */
export function requireKey(options: AuthOptions) {
  const { keys, tokens, throttle, trustProxy = false, nowS = () => Date.now() / 1000 } = options;
  return createMiddleware<AppEnv>(async (c, next) => {
    const address = throttle ? clientAddress(c.env?.incoming?.socket?.remoteAddress, c.req.header('x-forwarded-for'), trustProxy) : undefined;
    if (throttle && address !== undefined) {
      const blocked = await throttle.check(address);
      if (blocked) {
        throw new ApiError(429, 'too-many-auth-failures', `Too many failed logins from this address: try again in ${blocked.retryAfterS} s`, { 'Retry-After': String(blocked.retryAfterS) });
      }
    }
    let keyId: string;
    try {
      const found = keyIdOf(c.req.header('x-api-key'), c.req.header('authorization'), c.req.header('x-api-token'), c.req.header('origin'));
      if (found.token !== undefined && (await tokens?.revocations?.isRevoked(found.token))) throw new ApiError(401, 'token-revoked', 'The token was revoked: ask your backend for a new one');
      keyId = found.keyId;
    } catch (error) {
      if (throttle && address !== undefined) await throttle.failure(address);
      throw error;
    }
    if (throttle && address !== undefined) await throttle.success(address);
    c.set('keyId', keyId);
    await next();
  });

  function keyIdOf(apiKey: string | undefined, authorization: string | undefined, tokenHeader: string | undefined, origin: string | undefined): { keyId: string; token?: string } {
    if (apiKey !== undefined) {
      const keyId = keys.check(apiKey);
      if (!keyId) throw new ApiError(401, 'unauthorized', 'The API key is not valid');
      return { keyId };
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? tokenHeader;
    if (token === undefined) throw new ApiError(401, 'unauthorized', tokens ? 'Missing X-API-Key header (or a browser token: Authorization: Bearer <token>)' : 'Missing X-API-Key header');
    if (!tokens) throw new ApiError(401, 'unauthorized', 'Tokens cannot be used here: send X-API-Key');
    const checked = tokens.verify(token, origin, nowS());
    if (!checked.ok) throw new ApiError(401, checked.reason === 'expired' ? 'token-expired' : 'unauthorized', TOKEN_REFUSALS[checked.reason]);
    if (!keys.hasId(checked.claims.keyId)) throw new ApiError(401, 'unauthorized', 'The key that issued this token is no longer valid');
    return { keyId: checked.claims.keyId, token };
  }
}
