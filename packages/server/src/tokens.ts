import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Longest lifetime a browser token may be given, seconds. */
export const MAX_TOKEN_TTL_S = 3600;
/** Lifetime when the request names none, seconds. */
export const DEFAULT_TOKEN_TTL_S = 300;
const PREFIX = 'vpt1.';

/** What a token carries: the origin it is bound to, when it expires (Unix seconds) and the id of the key that issued it. */
export interface TokenClaims {
  origin: string;
  exp: number;
  keyId: string;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'wrong-origin' };

export interface TokenSigner {
  /** A token for `claims`: `vpt1.<payload>.<signature>`, both base64url; the signature is HMAC-SHA256 over the payload. */
  issue(claims: TokenClaims): string;
  /** Checks the signature (constant time), the expiry against `nowS`, and that `origin` is the one the token is bound to. */
  verify(token: string, origin: string | undefined, nowS: number): TokenCheck;
}

/**
 * Signs and checks short-lived browser tokens. The secret comes from the
 * server option or `VOXPIPE_TOKEN_SECRET`; without one a random secret is
 * made per process (tokens then die with the process).
 *
 * ```ts
 * const signer = createTokenSigner('a long random secret');
 * const token = signer.issue({ origin: 'https://app.example', exp: now + 300, keyId: 'ab12cd34' });
 * ```
 */
export function createTokenSigner(secret?: string): TokenSigner {
  const key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  const sign = (payload: string) => createHmac('sha256', key).update(payload, 'utf8').digest();
  return {
    issue(claims) {
      const payload = Buffer.from(JSON.stringify({ o: claims.origin, e: claims.exp, k: claims.keyId }), 'utf8').toString('base64url');
      return `${PREFIX}${payload}.${sign(payload).toString('base64url')}`;
    },
    verify(token, origin, nowS) {
      if (typeof token !== 'string' || token.length > 2048 || !token.startsWith(PREFIX)) return { ok: false, reason: 'malformed' };
      const parts = token.slice(PREFIX.length).split('.');
      if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]) || !/^[A-Za-z0-9_-]+$/.test(parts[1])) return { ok: false, reason: 'malformed' };
      const given = Buffer.from(parts[1], 'base64url');
      const expected = sign(parts[0]);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
      let claims: TokenClaims;
      try {
        const raw = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { o?: unknown; e?: unknown; k?: unknown };
        if (typeof raw.o !== 'string' || typeof raw.e !== 'number' || typeof raw.k !== 'string') return { ok: false, reason: 'malformed' };
        claims = { origin: raw.o, exp: raw.e, keyId: raw.k };
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      if (!(nowS < claims.exp)) return { ok: false, reason: 'expired' };
      if (origin !== claims.origin) return { ok: false, reason: 'wrong-origin' };
      return { ok: true, claims };
    },
  };
}

/** The origin part of a URL (`https://app.example:8443`), or undefined when `value` is not exactly an http(s) origin. */
export function normalOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin === value.replace(/\/$/, '') ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
