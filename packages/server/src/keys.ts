import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A configured key, kept only as its SHA-256 digest. */
interface StoredKey {
  digest: Buffer;
  /** A short, non-secret name for logs and limits: the first 8 hex digits of the digest. */
  id: string;
}

export interface KeyStore {
  /** The key's id when it is one of ours, else undefined. Constant time in the key's content. */
  check(presented: string | undefined | null): string | undefined;
  /** The development key generated because none was configured (undefined when keys were configured). */
  readonly developmentKey: string | undefined;
  readonly size: number;
  /** True when `id` names one of the configured keys (browser tokens carry the id of the key that issued them). */
  hasId(id: string): boolean;
}

function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Keys from a file: one per line; blank lines and `#` comments are skipped. */
export function readKeysFile(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

/** Keys from `VOXPIPE_API_KEYS` (comma-separated). */
export function keysFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.VOXPIPE_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
}

/**
 * Holds the API keys as digests and checks a presented key against all of
 * them: both sides are hashed to 32 bytes and compared with `timingSafeEqual`,
 * every stored key is compared (no early exit), so timing says nothing about
 * how much of a key matched. With no keys, a random development key is made.
 */
export function createKeyStore(keys: readonly string[]): KeyStore {
  let developmentKey: string | undefined;
  let list = [...new Set(keys.filter((k) => k.length > 0))];
  if (list.length === 0) {
    developmentKey = `vp_dev_${randomBytes(18).toString('base64url')}`;
    list = [developmentKey];
  }
  const stored: StoredKey[] = list.map((key) => {
    const digest = digestOf(key);
    return { digest, id: digest.toString('hex').slice(0, 8) };
  });
  const ids = new Set(stored.map((key) => key.id));
  return {
    developmentKey,
    size: stored.length,
    hasId: (id) => ids.has(id),
    check(presented) {
      if (typeof presented !== 'string' || presented.length === 0 || presented.length > 1024) return undefined;
      const digest = digestOf(presented);
      let found: string | undefined;
      for (const key of stored) {
        if (timingSafeEqual(digest, key.digest)) found = key.id;
      }
      return found;
    },
  };
}
