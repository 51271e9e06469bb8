import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keyStreamsRefusal, MemoryLimiter, rateRefusal, serverStreamsRefusal, type Admission, type Limiter, type LimiterOptions, type Refusal } from './limiter.js';
import type { SharedRedis } from './redis-connection.js';

// One script decides a request atomically on Redis's own clock (TIME): the instances' clocks never enter it, and no
// two servers can both take the last token or slot. KEYS: the key's bucket (hash), its open streams (sorted set of
// lease ids by expiry). ARGV: rate, burst, streams per key, lease id ('' for a plain request), lease ms.
// Returns {1} when admitted, {0, 'rate', ms until a token} or {0, 'concurrency', 0}.
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local lease = ARGV[4]
local leaseMs = tonumber(ARGV[5])
if lease ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return {0, 'concurrency', 0} end
end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(b[1])
local updated = tonumber(b[2])
if tokens == nil or updated == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - updated) * rate / 1000)
end
local idleMs = math.ceil(burst * 1000 / rate) + 1000
if tokens < 1 then
  return {0, 'rate', math.ceil((1 - tokens) * 1000 / rate)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], idleMs)
if lease ~= '' then
  redis.call('ZADD', KEYS[2], now + leaseMs, lease)
  redis.call('PEXPIRE', KEYS[2], leaseMs * 2)
end
return {1}
`;

// Renews leases: KEYS are the keys' stream sets, ARGV[1] the lease ms, then one lease id per key. A lease lost while
// Redis was away is put back, so the streams that stayed open count again as soon as it returns.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local leaseMs = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + leaseMs, ARGV[i + 1])
  redis.call('PEXPIRE', key, leaseMs * 2)
end
return #KEYS
`;

type Decided = [1] | [0, 'rate' | 'concurrency', number];

interface LimiterCommands {
  voxpipeAdmit(bucket: string, streams: string, rate: number, burst: number, perKey: number, lease: string, leaseMs: number): Promise<Decided>;
}

interface OpenLease {
  streamsKey: string;
  lease: string;
}

/**
 * The `Limiter` that several servers share through one Redis: a key's
 * request rate and its open streams count across every server (each
 * decision one Lua script, atomic, on Redis's clock); the cap on streams per
 * server stays each server's own. An open stream holds a lease that its
 * server renews every third of `leaseMs`, so the slots of a server that
 * dies free themselves within `leaseMs`. While Redis is unreachable each
 * server decides with its own in-memory limits (or refuses, with
 * `whenDown: 'refuse'`), and its open streams are counted in Redis again
 * as soon as it returns.
 *
 * ```ts
 * const limiter = redisLimiter(connectRedis({ url: 'redis://127.0.0.1:6379' }, logger), serverLimits({}));
 * const admitted = await limiter.admit(keyId);
 * ```
 */
export function redisLimiter(shared: SharedRedis, options: LimiterOptions): Limiter {
  const client = shared.client as Redis & LimiterCommands;
  client.defineCommand('voxpipeAdmit', { numberOfKeys: 2, lua: ADMIT });
  const local = new MemoryLimiter(options);
  const open = new Set<OpenLease>();
  const bucketKey = (key: string) => `${shared.prefix}rate:{${key}}`;
  const streamsKey = (key: string) => `${shared.prefix}streams:{${key}}`;
  const unavailable: Refusal = { reason: 'unavailable', message: 'The shared limits are unavailable; try again shortly', retryAfter: 5, store: 'redis' };

  const renew = () => {
    if (open.size === 0) return;
    const leases = [...open];
    void shared.run((r) => r.eval(RENEW, leases.length, ...leases.map((l) => l.streamsKey), shared.leaseMs, ...leases.map((l) => l.lease)));
  };
  const timer = setInterval(renew, Math.max(50, Math.floor(shared.leaseMs / 3)));
  timer.unref();
  shared.onUp(renew);

  const decide = async (key: string, lease: string): Promise<Decided | undefined> =>
    shared.run((r) => (r as Redis & LimiterCommands).voxpipeAdmit(bucketKey(key), streamsKey(key), options.requestsPerSecond, options.burst, options.concurrentStreamsPerKey, lease, shared.leaseMs));
  const refusalOf = (decided: Exclude<Decided, [1]>): Refusal =>
    decided[1] === 'rate' ? rateRefusal(options, decided[2] / 1000, 'redis') : keyStreamsRefusal(options, 'redis');
  const alone = <T>(decideLocally: () => T): T | Refusal => {
    if (shared.whenDown === 'refuse') return unavailable;
    const made = decideLocally();
    if (made && typeof made === 'object' && 'store' in made) (made as { store?: string }).store = 'local-fallback';
    return made;
  };

  return {
    get openStreams() {
      return open.size;
    },
    get store() {
      return shared.up ? 'redis' : 'local-fallback';
    },
    async take(key) {
      const decided = await decide(key, '');
      if (!decided) return alone(() => local.take(key));
      return decided[0] === 1 ? undefined : refusalOf(decided);
    },
    async admit(key): Promise<Admission | Refusal> {
      if (open.size >= options.maxConcurrentStreams) return serverStreamsRefusal(options);
      const held: OpenLease = { streamsKey: streamsKey(key), lease: randomBytes(9).toString('base64url') };
      const decided = await decide(key, held.lease);
      let store: Admission['store'] = 'redis';
      let releaseLocal: (() => void) | undefined;
      if (!decided) {
        const made = alone(() => local.admit(key));
        if ('reason' in made) return made;
        store = 'local-fallback';
        releaseLocal = made.release;
      } else if (decided[0] === 0) {
        return refusalOf(decided);
      }
      // Counted from here: renewed while open, and put into Redis when it returns if it was taken while Redis was away.
      open.add(held);
      let released = false;
      return {
        store,
        release: () => {
          if (released) return;
          released = true;
          open.delete(held);
          releaseLocal?.();
          void shared.run((r) => r.zrem(held.streamsKey, held.lease));
        },
      };
    },
    async close() {
      clearInterval(timer);
      const leases = [...open];
      open.clear();
      await Promise.all(leases.map((l) => shared.run((r) => r.zrem(l.streamsKey, l.lease))));
    },
  };
}
