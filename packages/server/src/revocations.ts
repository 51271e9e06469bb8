import { createHash } from 'node:crypto';
import type { SharedRedis } from './redis-connection.js';

/** Browser tokens revoked before their expiry, remembered until it. */
export interface TokenRevocations {
  /** Refuses `token` from now until `untilS` (its expiry, Unix seconds). */
  revoke(token: string, untilS: number): Promise<void>;
  /** True when `token` was revoked (and has not yet expired). */
  isRevoked(token: string): Promise<boolean>;
}

/** A token's name in the revocation list: its SHA-256 (the token itself is never stored). */
const digestOf = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

/**
 * Revocations kept in this process: each until its token expires (at most
 * `MAX_TOKEN_TTL_S`), so memory is bounded by the tokens revoked in the last
 * hour.
 *
 * ```ts
 * const revocations = memoryRevocations();
 * await revocations.revoke(token, claims.exp);
 * ```
 */
export function memoryRevocations(nowS: () => number = () => Date.now() / 1000): TokenRevocations {
  const until = new Map<string, number>();
  const prune = (t: number) => {
    for (const [digest, end] of until) if (end <= t) until.delete(digest);
  };
  return {
    async revoke(token, untilS) {
      const t = nowS();
      if (untilS <= t) return;
      if (until.size > 1000) prune(t);
      until.set(digestOf(token), untilS);
    },
    async isRevoked(token) {
      const end = until.get(digestOf(token));
      return end !== undefined && end > nowS();
    },
  };
}

/**
 * Revocations every server sharing one Redis sees: a key per revoked
 * token's digest that Redis drops when the token expires. Each revocation
 * is kept in this process too, so a server still refuses the tokens it
 * revoked itself while Redis is unreachable.
 *
 * ```ts
 * const revocations = redisRevocations(shared);
 * if (await revocations.isRevoked(token)) refuse();
 * ```
 */
export function redisRevocations(shared: SharedRedis, nowS: () => number = () => Date.now() / 1000): TokenRevocations {
  const local = memoryRevocations(nowS);
  const keyOf = (token: string) => `${shared.prefix}revoked:${digestOf(token)}`;
  return {
    async revoke(token, untilS) {
      await local.revoke(token, untilS);
      const ms = Math.ceil((untilS - nowS()) * 1000);
      if (ms > 0) await shared.run((r) => r.set(keyOf(token), '1', 'PX', ms));
    },
    async isRevoked(token) {
      if (await local.isRevoked(token)) return true;
      return (await shared.run((r) => r.exists(keyOf(token)))) === 1;
    },
  };
}
