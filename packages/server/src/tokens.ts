import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenRevocations } from './revocations.js';

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
  /** The claims of a token signed here (expired or not, from any origin); undefined for anything else. */
  claims(token: string): TokenClaims | undefined;
  /** Tokens revoked before their expiry: a revoked token is refused wherever tokens are accepted. */
  readonly revocations?: TokenRevocations;
}

/**
 * Signs and checks short-lived browser tokens. The secret comes from the
 * server option or `VOXPIPE_TOKEN_SECRET`; without one a random secret is
 * made per process (tokens then die with the process). With `revocations`,
 * tokens can be revoked before they expire (`POST /v1/tokens/revoke`).
 *
 * ```ts
 * const signer = createTokenSigner('a long random secret');
 * const token = signer.issue({ origin: 'https://app.example', exp: now + 300, keyId: 'ab12cd34' });
 * ```
 */
export function createTokenSigner(secret?: string, revocations?: TokenRevocations): TokenSigner {
  const key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  const sign = (payload: string) => createHmac('sha256', key).update(payload, 'utf8').digest();
  return {
    revocations,
    issue(claims) {
      const payload = Buffer.from(JSON.stringify({ o: claims.origin, e: claims.exp, k: claims.keyId }), 'utf8').toString('base64url');
      return `${PREFIX}${payload}.${sign(payload).toString('base64url')}`;
    },
    verify(token, origin, nowS) {
      const read = decode(token);
      if ('reason' in read) return { ok: false, reason: read.reason };
      if (!(nowS < read.exp)) return { ok: false, reason: 'expired' };
      if (origin !== read.origin) return { ok: false, reason: 'wrong-origin' };
      return { ok: true, claims: read };
    },
    claims(token) {
      const read = decode(token);
      return 'reason' in read ? undefined : read;
    },
  };

  /** The claims of a token whose signature holds (constant time), else why not. */
  function decode(token: string): TokenClaims | { reason: 'malformed' | 'bad-signature' } {
    if (typeof token !== 'string' || token.length > 2048 || !token.startsWith(PREFIX)) return { reason: 'malformed' };
    const parts = token.slice(PREFIX.length).split('.');
    if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]) || !/^[A-Za-z0-9_-]+$/.test(parts[1])) return { reason: 'malformed' };
    const given = Buffer.from(parts[1], 'base64url');
    const expected = sign(parts[0]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { reason: 'bad-signature' };
    try {
      const raw = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { o?: unknown; e?: unknown; k?: unknown };
      if (typeof raw.o !== 'string' || typeof raw.e !== 'number' || typeof raw.k !== 'string') return { reason: 'malformed' };
      return { origin: raw.o, exp: raw.e, keyId: raw.k };
    } catch {
      return { reason: 'malformed' };
    }
  }
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
