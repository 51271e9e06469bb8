import { parseOptions, type Engine, type SynthesisRequest } from '@voxpipe/core';
import * as v from 'valibot';
import type { AuthThrottle } from './auth-throttle.js';
import { DEFAULT_ENGINE_MODULE } from './engine-loader.js';
import { createKeyStore, keysFromEnv, readKeysFile, type KeyStore } from './keys.js';
import { loggerFrom, type Logger } from './logger.js';
import type { RedisOptions } from './redis-connection.js';
import { serverLimits, type ServerLimits, type ServerLimitsInput } from './request-schema.js';

export interface CorsOptions {
  /** Origins allowed to call the API from a browser: `'*'` (the default: any origin; keys, not cookies, guard the API) or a list. */
  origins?: '*' | string[];
}

/** Instrumentation set in code by whoever runs the server (tests, monitoring); nothing an API caller can reach. */
export interface ServerHooks {
  /** Sees (and may replace) every request the server sends to the engine. */
  synthesis?(request: SynthesisRequest, context: { keyId: string; text: string }): SynthesisRequest;
}

export interface ServerOptions {
  /**
   * The speech engine: an `Engine` (or a promise of one), or `'espeak'` (the
   * default): the server loads `@voxpipe/engine-espeak` (GPL-3.0) by dynamic
   * import, starts it, and closes it with the server. A missing package is
   * a clear error at `ready()` / `listen()`.
   */
  engine?: 'espeak' | Engine | Promise<Engine>;
  /** The package to load for `engine: 'espeak'`. Default `VOXPIPE_ENGINE_MODULE`, else `@voxpipe/engine-espeak`. */
  engineModule?: string;
  /**
   * Options for the engine the server loads (`engine: 'espeak'`), passed to
   * the package's factory: e.g. `{ warm: 'full' }` (what `voxpipe serve`
   * passes) warms every worker thoroughly before the server is ready.
   * Ignored when an engine is given.
   */
  engineOptions?: Record<string, unknown>;
  /** API keys. Added to those from `VOXPIPE_API_KEYS` and the keys file. */
  keys?: string[];
  /** A file of API keys, one per line (`#` comments). Default: `VOXPIPE_API_KEYS_FILE`. */
  keysFile?: string;
  limits?: ServerLimitsInput;
  cors?: CorsOptions;
  /** `false` for silence. Default: console. */
  logger?: Logger | false;
  /** `false` serves the plain model and voice listing at GET / instead of the browser player. */
  demoPage?: boolean;
  /** Environment to read keys from (default `process.env`); for tests. */
  env?: NodeJS.ProcessEnv;
  /** Browser tokens (`POST /v1/tokens`): the signing secret. Default `VOXPIPE_TOKEN_SECRET`, else random per process. */
  tokens?: { secret?: string };
  /**
   * Behind a reverse proxy: take the client's address (for failed-login
   * throttling) from the first hop of `X-Forwarded-For` instead of the
   * socket. Set it only when a proxy you run sets that header (a client can
   * send anything in it). Default false.
   */
  trustProxy?: boolean;
  /** Failed-login throttling per client address; default: in this process, by `limits.authFailures` and `limits.authFailureWindowMs`. */
  authThrottle?: AuthThrottle;
  hooks?: ServerHooks;
  /**
   * Share the limits with every server on one Redis (`redis://host:6379`, or
   * the options): each key's request rate and open streams, failed logins
   * per address and revoked browser tokens count across all of them. Default
   * `VOXPIPE_REDIS_URL`, else none: each server keeps its own, in memory.
   */
  redis?: string | RedisOptions;
  /**
   * GET /metrics (Prometheus). Default: on the API's port, answered only to
   * scrapers on this machine. `token`: answered to any scraper that sends
   * `Authorization: Bearer <token>`. `port` (and `host`, default 127.0.0.1):
   * served on a listener of its own instead, and not on the API's port.
   * `false`: no metrics.
   */
  metrics?: false | MetricsOptions;
  /**
   * Complete streams kept in memory by their ETag (the normalized request and
   * the engine's build), so a repeated request, or a range of it, is served
   * without the engine. `maxBytes`: the budget (least recently used
   * streams go first); 0 (the default here) turns the cache off;
   * `voxpipe serve` turns it on with 64 MiB (`--cache-bytes`).
   */
  cache?: { maxBytes?: number };
}

/** Where GET /metrics is served, and to whom. */
export interface MetricsOptions {
  /** Scrapers must send `Authorization: Bearer <token>` (at least 16 characters). */
  token?: string;
  /** Serve the metrics on this port only (0: any free one), not on the API's. */
  port?: number;
  /** The metrics listener's interface. Default 127.0.0.1. */
  host?: string;
}

const corsSchema = v.object({ origins: v.optional(v.union([v.literal('*'), v.array(v.pipe(v.string(), v.url()))]), '*') });
const redisSchema = v.object({
  url: v.pipe(v.string(), v.regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL')),
  prefix: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
  leaseMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(300), v.maxValue(600_000))),
  commandTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(60_000))),
  whenDown: v.optional(v.picklist(['local', 'refuse'])),
});
const metricsSchema = v.union([
  v.literal(false),
  v.object({
    token: v.optional(v.pipe(v.string(), v.minLength(16, 'use at least 16 characters'))),
    port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535))),
    host: v.optional(v.pipe(v.string(), v.minLength(1))),
  }),
]);
const cacheSchema = v.object({ maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0, 'must be 0 (off) or more'), v.maxValue(2 ** 40)), 0) });
const tokensSchema = v.object({ secret: v.optional(v.pipe(v.string(), v.minLength(16, 'use at least 16 characters'))) });

/** The server's options checked, defaults filled in, keys gathered from every source. */
export interface ResolvedServerOptions {
  logger: Logger;
  limits: ServerLimits;
  origins: '*' | string[];
  keys: KeyStore;
  /** The token signing secret; undefined for a random one per process. */
  tokenSecret: string | undefined;
  /** The engine given, or the package to load (and its factory's options). */
  engine: { given: Engine | Promise<Engine> } | { load: string; options?: Record<string, unknown> };
  /** The shared Redis, when limits are shared. */
  redis: RedisOptions | undefined;
  metrics: false | MetricsOptions;
  /** The audio cache's budget, bytes (0: off). */
  cacheBytes: number;
}

/**
 * Checks the server options (core's `parseOptions` with valibot schemas: a
 * bad option is a `bad-request` VoxpipeError naming it) and gathers what the
 * environment adds: keys from `VOXPIPE_API_KEYS` and the keys file, the
 * token secret, the engine module.
 *
 * ```ts
 * const { limits, keys, engine } = resolveServerOptions({ keys: ['secret'], limits: { burst: 5 } });
 * ```
 */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const env = options.env ?? process.env;
  const limits = serverLimits(options.limits);
  const { origins } = parseOptions('server cors', corsSchema, options.cors);
  const keysFile = options.keysFile ?? env.VOXPIPE_API_KEYS_FILE;
  const keys = createKeyStore([...(options.keys ?? []), ...keysFromEnv(env), ...(keysFile ? readKeysFile(keysFile) : [])]);
  const { secret } = parseOptions('server tokens', tokensSchema, { secret: options.tokens?.secret ?? env.VOXPIPE_TOKEN_SECRET });
  const engine =
    options.engine === undefined || options.engine === 'espeak' ? { load: engineModuleName(options.engineModule, env), options: options.engineOptions } : { given: options.engine };
  const redisGiven = options.redis ?? env.VOXPIPE_REDIS_URL;
  const redis = redisGiven === undefined || redisGiven === '' ? undefined : parseOptions('server redis', redisSchema, typeof redisGiven === 'string' ? { url: redisGiven } : redisGiven);
  const metrics = parseOptions('server metrics', metricsSchema, options.metrics ?? {});
  const { maxBytes: cacheBytes } = parseOptions('server cache', cacheSchema, options.cache ?? {});
  return { logger: loggerFrom(options.logger), limits, origins, keys, tokenSecret: secret, engine, redis, metrics, cacheBytes };
}

/** The engine package to load: the one named, else `VOXPIPE_ENGINE_MODULE`, else `@voxpipe/engine-espeak`. */
export function engineModuleName(named: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return named ?? env.VOXPIPE_ENGINE_MODULE ?? DEFAULT_ENGINE_MODULE;
}
