import type { Redis } from 'ioredis';
import { memoryAuthThrottle, rateLimitedLog, type AuthBlock, type AuthThrottle, type MemoryAuthThrottleOptions } from './auth-throttle.js';
import type { SharedRedis } from './redis-connection.js';

// The same rules as the in-process throttle, each step one script on Redis's clock. KEYS[1]: the address's hash
// {failures, since, blockedUntil}; ARGV: the step, the failures allowed, the window ms.
// check → {failures, ms blocked still} or {0, 0}; failure → {failures, 1 if this failure blocked it}; success → {}.
const THROTTLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local e = redis.call('HMGET', KEYS[1], 'failures', 'since', 'blockedUntil')
local failures = tonumber(e[1]) or 0
local since = tonumber(e[2]) or now
local blockedUntil = tonumber(e[3]) or 0
if blockedUntil <= now and now - since >= window then
  failures = 0
  since = now
  blockedUntil = 0
end
local step = ARGV[1]
if step == 'check' then
  if blockedUntil > now then return {failures, blockedUntil - now} end
  return {0, 0}
end
local blocked = 0
if step == 'failure' then
  failures = failures + 1
  if failures >= limit and blockedUntil <= now then
    blockedUntil = now + window
    blocked = 1
  end
elseif step == 'success' then
  if blockedUntil > now or failures == 0 then return {failures, 0} end
  failures = failures - 1
end
redis.call('HSET', KEYS[1], 'failures', failures, 'since', since, 'blockedUntil', blockedUntil)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {failures, blocked}
`;

interface ThrottleCommands {
  voxpipeAuthThrottle(key: string, step: 'check' | 'failure' | 'success', limit: number, windowMs: number): Promise<[number, number]>;
}

/**
 * The `AuthThrottle` that several servers share through one Redis: an
 * address's failed logins count on every server, with the rules of
 * `memoryAuthThrottle` (a failure that reaches `failures` within `windowMs`
 * blocks the address for `windowMs`; a success forgives one), each step one
 * atomic script. While Redis is unreachable each server counts on its own.
 *
 * ```ts
 * const throttle = redisAuthThrottle(shared, { failures: 20, windowMs: 60_000, logger });
 * if (await throttle.check('203.0.113.9')) refuse();
 * ```
 */
export function redisAuthThrottle(shared: SharedRedis, options: MemoryAuthThrottleOptions): AuthThrottle {
  const client = shared.client as Redis & ThrottleCommands;
  client.defineCommand('voxpipeAuthThrottle', { numberOfKeys: 1, lua: THROTTLE });
  const local = memoryAuthThrottle(options);
  const log = rateLimitedLog(options.logger, 1000, options.now ?? (() => performance.now()));
  const step = (address: string, name: 'check' | 'failure' | 'success') =>
    shared.run((r) => (r as Redis & ThrottleCommands).voxpipeAuthThrottle(`${shared.prefix}auth:{${address}}`, name, options.failures, options.windowMs));
  return {
    async check(address): Promise<AuthBlock | undefined> {
      const said = await step(address, 'check');
      if (!said) return local.check(address);
      return said[1] > 0 ? { failures: said[0], retryAfterS: Math.max(1, Math.ceil(said[1] / 1000)) } : undefined;
    },
    async failure(address) {
      const said = await step(address, 'failure');
      if (!said) return local.failure(address);
      if (said[1] === 1) log(`auth: ${said[0]} failed logins from ${address} (counted on every server); refusing its logins for ${options.windowMs / 1000} s (429)`);
    },
    success(address) {
      // Nothing waits on a success (it only forgives): sent without holding up the request, in order on the connection.
      if (!shared.up) return local.success(address);
      void step(address, 'success');
    },
  };
}
