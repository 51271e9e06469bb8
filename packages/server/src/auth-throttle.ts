import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from './logger.js';

/** An address that used up its failed logins: how many it had, and how long it must wait. */
export interface AuthBlock {
  failures: number;
  retryAfterS: number;
}

/**
 * Failed-login throttling per client address, as the auth middleware uses
 * it: `check` before the key is compared (a blocked address is refused
 * without it), then `failure` or `success` with the outcome. Small, and
 * async-capable, so a store shared by several servers can implement it.
 */
export interface AuthThrottle {
  /** Undefined when the address may try its key; else how long it must wait. */
  check(address: string): AuthBlock | undefined | Promise<AuthBlock | undefined>;
  /** The address presented no key, or a wrong one, or a bad token. */
  failure(address: string): void | Promise<void>;
  /** The address presented a valid key or token. */
  success(address: string): void | Promise<void>;
}

export interface MemoryAuthThrottleOptions {
  /** Failed logins an address may have within `windowMs`; the one that reaches it blocks the address for `windowMs`. */
  failures: number;
  windowMs: number;
  /** Told (rate-limited: at most one line a second) when an address is blocked; never told a key. */
  logger: Logger;
  /** Addresses remembered at most; the oldest are forgotten first. Default 50,000. */
  maxAddresses?: number;
  /** The clock, ms; for tests. */
  now?: () => number;
}

interface Entry {
  /** Failures counted in the window that began at `since`. */
  failures: number;
  since: number;
  /** Refused until then (0: not blocked). */
  blockedUntil: number;
}

/**
 * The in-process `AuthThrottle`: each address may fail `failures` times in
 * `windowMs` (counted from its first failure); the failure that reaches the
 * limit blocks it for `windowMs`, logged once in one line naming the
 * address and the count. A success forgives one failure (not all: a client
 * holding one valid key must not buy unlimited guesses at others), so
 * clients behind a shared address that mostly succeed are not blocked by
 * one that keeps failing. Memory is bounded by `maxAddresses`.
 *
 * ```ts
 * const throttle = memoryAuthThrottle({ failures: 20, windowMs: 60_000, logger });
 * if (await throttle.check('203.0.113.9')) refuse();
 * ```
 */
export function memoryAuthThrottle(options: MemoryAuthThrottleOptions): AuthThrottle {
  const { failures: limit, windowMs } = options;
  const now = options.now ?? (() => performance.now());
  const maxAddresses = options.maxAddresses ?? 50_000;
  const log = rateLimitedLog(options.logger, 1000, now);
  const entries = new Map<string, Entry>();

  const stale = (entry: Entry, t: number) => entry.blockedUntil <= t && t - entry.since >= windowMs;
  const current = (address: string, t: number): Entry | undefined => {
    const entry = entries.get(address);
    if (entry && stale(entry, t)) {
      entries.delete(address);
      return undefined;
    }
    return entry;
  };
  const remember = (address: string, entry: Entry, t: number) => {
    // Forget a few of the oldest on the way (stale ones, or any past the cap): memory stays bounded without a timer.
    for (const [oldest, old] of entries) {
      if (entries.size < maxAddresses && !stale(old, t)) break;
      entries.delete(oldest);
    }
    entries.set(address, entry);
  };

  return {
    check(address) {
      const t = now();
      const entry = current(address, t);
      if (!entry || entry.blockedUntil <= t) return undefined;
      return { failures: entry.failures, retryAfterS: Math.max(1, Math.ceil((entry.blockedUntil - t) / 1000)) };
    },
    failure(address) {
      const t = now();
      let entry = current(address, t);
      if (!entry) remember(address, (entry = { failures: 0, since: t, blockedUntil: 0 }), t);
      entry.failures++;
      if (entry.failures >= limit && entry.blockedUntil <= t) {
        entry.blockedUntil = t + windowMs;
        log(`auth: ${entry.failures} failed logins from ${address} in ${Math.max(1, Math.round((t - entry.since) / 1000))} s; refusing its logins for ${windowMs / 1000} s (429)`);
      }
    },
    success(address) {
      const t = now();
      const entry = current(address, t);
      if (entry && entry.blockedUntil <= t && entry.failures > 0) entry.failures--;
    },
  };
}

/** A warn line at most every `everyMs`; lines in between are counted and the count told with the next one. */
export function rateLimitedLog(logger: Logger, everyMs: number, now: () => number): (line: string) => void {
  let last = -Infinity;
  let dropped = 0;
  return (line) => {
    const t = now();
    if (t - last < everyMs) {
      dropped++;
      return;
    }
    last = t;
    logger.warn(dropped > 0 ? `${line} (${dropped} more such lines were not logged)` : line);
    dropped = 0;
  };
}

/**
 * The address a request is throttled under: the socket's remote address,
 * or, when `trustProxy` is set (the server sits behind a proxy that sets
 * the header), the first hop of `X-Forwarded-For`. IPv4-mapped IPv6 is
 * read as IPv4, and IPv6 addresses are grouped by their /64 (one host
 * usually holds a whole /64). Undefined when there is no address (the
 * app called without a Node server): such requests are not throttled.
 *
 * ```ts
 * clientAddress('::ffff:203.0.113.9', undefined, false) // '203.0.113.9'
 * ```
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? forwardedFor?.split(',')[0]?.trim() : undefined;
  const raw = forwarded || socketAddress;
  return raw ? addressKey(raw) : undefined;
}

function addressKey(raw: string): string {
  let address = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  address = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:([\d.]+)$/.exec(address);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
  // Not an address (a proxy's odd header): its own bucket, its length bounded.
  return address.slice(0, 64);
}

/** The eight groups of an IPv6 address, `::` expanded (a trailing dotted IPv4 counts as two). */
function ipv6Groups(address: string): string[] {
  const split = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const [head, tail] = address.split('::');
  const front = split(head);
  if (tail === undefined) return front.map((g) => parseInt(g, 16).toString(16));
  const back = split(tail);
  return [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back].map((g) => parseInt(g, 16).toString(16));
}
