import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import type { KeyStore } from '../keys.js';
import type { TokenCheck, TokenSigner } from '../tokens.js';

export interface AuthOptions {
  /** The API keys (compared in constant time by the store). */
  keys: KeyStore;
  /** Browser tokens are accepted when a signer is given (`Authorization: Bearer`, or `X-API-Token`); without one only `X-API-Key` is. */
  tokens?: TokenSigner;
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
 * against the request's `Origin` and against the keys still configured.
 *
 * ```ts
 * app.post('/v1/tts/stream', requireKey({ keys, tokens }), (c) => c.text(c.var.keyId));
 * ```
 */
export function requireKey(options: AuthOptions) {
  const { keys, tokens, nowS = () => Date.now() / 1000 } = options;
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set('keyId', keyIdOf(c.req.header('x-api-key'), c.req.header('authorization'), c.req.header('x-api-token'), c.req.header('origin')));
    await next();
  });

  function keyIdOf(apiKey: string | undefined, authorization: string | undefined, tokenHeader: string | undefined, origin: string | undefined): string {
    if (apiKey !== undefined) {
      const keyId = keys.check(apiKey);
      if (!keyId) throw new ApiError(401, 'unauthorized', 'The API key is not valid');
      return keyId;
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? tokenHeader;
    if (token === undefined) throw new ApiError(401, 'unauthorized', tokens ? 'Missing X-API-Key header (or a browser token: Authorization: Bearer <token>)' : 'Missing X-API-Key header');
    if (!tokens) throw new ApiError(401, 'unauthorized', 'Tokens cannot be used here: send X-API-Key');
    const checked = tokens.verify(token, origin, nowS());
    if (!checked.ok) throw new ApiError(401, checked.reason === 'expired' ? 'token-expired' : 'unauthorized', TOKEN_REFUSALS[checked.reason]);
    if (!keys.hasId(checked.claims.keyId)) throw new ApiError(401, 'unauthorized', 'The key that issued this token is no longer valid');
    return checked.claims.keyId;
  }
}
