import { normalOrigin, serverLimits, type ServerLimits } from '@voxpipe/server';
import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

type LimitName = keyof ServerLimits;

/** What each of the server's limits means, for `voxpipe serve --help`: every limit has a flag (its name in kebab case). */
const LIMIT_HELP: Record<LimitName, string> = {
  maxTextChars: 'Longest text accepted, characters',
  maxBodyBytes: 'Largest request body, bytes (413 past it)',
  requestsPerSecond: 'Requests per second per key, on average',
  burst: 'Requests a key may make at once after being idle',
  concurrentStreamsPerKey: 'Streams one key may have open at once',
  maxConcurrentStreams: 'Streams the server may have open at once',
  idleTimeoutMs: 'A stream whose client reads nothing this long is ended, ms',
  headersTimeoutMs: 'A request whose headers take longer is answered 408 and closed, ms',
  bodyTimeoutMs: 'A request body (read after the key is checked) that takes longer is 408, ms',
  authFailures: 'Failed logins per client address within the window before it gets 429',
  authFailureWindowMs: 'The window failed logins are counted in, and how long an address is then refused, ms',
};
export const LIMIT_NAMES = Object.keys(LIMIT_HELP) as LimitName[];

/** `maxTextChars` → `max-text-chars`. */
export const flagOf = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The `--help` line of each limit's flag: `[flag, description with its default]`. */
export function limitFlags(): Array<[string, string]> {
  const defaults = serverLimits({}) as Required<ServerLimits>;
  return LIMIT_NAMES.map((name) => [`--${flagOf(name)} <n>`, `${LIMIT_HELP[name]} (default ${defaults[name]})`]);
}

/** What `voxpipe serve` starts the server with, from the config file and the flags (flags win). */
export interface ServeSettings {
  port: number;
  host: string;
  keys?: string[];
  keysFile?: string;
  corsOrigins?: '*' | string[];
  trustProxy: boolean;
  limits: ServerLimits;
  /** Shared limits through this Redis (`redis://host:6379`). */
  redis?: string;
  /** While Redis is unreachable: decide alone (`local`) or refuse (`refuse`). */
  redisWhenDown?: 'local' | 'refuse';
  /** The audio cache's budget, bytes (0: off). */
  cacheBytes: number;
  /** GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** GET /metrics on its own port (on 127.0.0.1) instead of the API's. */
  metricsPort?: number;
  /** On SIGTERM / SIGINT, how long open streams may take to finish before they are cut, ms. */
  drainMs: number;
}

const SETTINGS = ['port', 'host', 'keys', 'keysFile', 'corsOrigins', 'trustProxy', 'limits', 'redis', 'redisWhenDown', 'cacheBytes', 'metricsToken', 'metricsPort', 'drainMs'] as const;

/** `voxpipe serve`'s audio cache when none is named: 64 MiB. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
/** How long `voxpipe serve` lets open streams finish on SIGTERM when not told: 10 s. */
export const DEFAULT_DRAIN_MS = 10_000;

/**
 * Reads `voxpipe serve`'s settings: `--config file.json` first (any of
 * port, host, keys, keysFile, corsOrigins, trustProxy, limits, redis,
 * redisWhenDown, cacheBytes, metricsToken, metricsPort, drainMs), then the
 * flags over it. Every value is checked before anything starts; a bad one
 * is a `UsageError` naming the flag or the file and setting.
 *
 * ```ts
 * const settings = serveSettings({ config: 'voxpipe.json', burst: 50 });
 * ```
 */
export function serveSettings(flags: Record<string, unknown>, read: (path: string) => string = (path) => readFileSync(path, 'utf8')): ServeSettings {
  const configPath = text(flags.config, '--config');
  const file = configPath === undefined ? {} : readConfig(configPath, read);
  const where = (setting: string) => `--config ${configPath}: ${setting}`;

  const fileLimits = file.limits === undefined ? {} : checkLimits(file.limits, (name) => where(`limits.${name}`), where('limits'));
  const flagLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const value = number(flags[name], `--${flagOf(name)}`);
    if (value !== undefined) Object.assign(flagLimits, checkLimits({ [name]: value }, () => `--${flagOf(name)}`, ''));
  }

  const port = number(flags.port, '--port') ?? (file.port === undefined ? undefined : fileNumber(file.port, where('port'))) ?? 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not ${port}`);
  const host = text(flags.host, '--host') ?? fileText(file.host, where('host')) ?? '127.0.0.1';
  const keys = list(text(flags.keys, '--keys')) ?? fileList(file.keys, where('keys'));
  const keysFile = text(flags.keysFile, '--keys-file') ?? fileText(file.keysFile, where('keysFile'));
  const originsFlag = text(flags.corsOrigins, '--cors-origins');
  const corsOrigins = originsFlag !== undefined ? origins(originsFlag === '*' ? '*' : (list(originsFlag) ?? []), '--cors-origins') : file.corsOrigins === undefined ? undefined : origins(file.corsOrigins, where('corsOrigins'));
  if (file.trustProxy !== undefined && typeof file.trustProxy !== 'boolean') throw new UsageError(`${where('trustProxy')} must be true or false`);
  const trustProxy = flags.trustProxy === true || (flags.trustProxy === undefined && file.trustProxy === true);
  const redis = text(flags.redis, '--redis') ?? fileText(file.redis, where('redis'));
  if (redis !== undefined && !/^rediss?:\/\/\S+$/.test(redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, not "${redis}"`);
  const whenDown = text(flags.redisWhenDown, '--redis-when-down') ?? fileText(file.redisWhenDown, where('redisWhenDown'));
  if (whenDown !== undefined && whenDown !== 'local' && whenDown !== 'refuse') throw new UsageError(`--redis-when-down must be local or refuse, not "${whenDown}"`);
  const cacheBytes = number(flags.cacheBytes, '--cache-bytes') ?? (file.cacheBytes === undefined ? undefined : fileNumber(file.cacheBytes, where('cacheBytes'))) ?? DEFAULT_CACHE_BYTES;
  if (!Number.isInteger(cacheBytes) || cacheBytes < 0) throw new UsageError(`--cache-bytes must be a whole number of bytes (0 turns the cache off), not ${cacheBytes}`);
  const metricsToken = text(flags.metricsToken, '--metrics-token') ?? fileText(file.metricsToken, where('metricsToken'));
  if (metricsToken !== undefined && metricsToken.length < 16) throw new UsageError('--metrics-token must be at least 16 characters');
  const metricsPort = number(flags.metricsPort, '--metrics-port') ?? (file.metricsPort === undefined ? undefined : fileNumber(file.metricsPort, where('metricsPort')));
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw new UsageError(`--metrics-port must be a whole number from 0 to 65535, not ${metricsPort}`);
  const drainMs = number(flags.drainMs, '--drain-ms') ?? (file.drainMs === undefined ? undefined : fileNumber(file.drainMs, where('drainMs'))) ?? DEFAULT_DRAIN_MS;
  if (!Number.isInteger(drainMs) || drainMs < 0 || drainMs > 3_600_000) throw new UsageError(`--drain-ms must be a whole number from 0 to 3600000, not ${drainMs}`);
  return {
    port,
    host,
    keys,
    keysFile,
    corsOrigins,
    trustProxy,
    limits: { ...fileLimits, ...flagLimits },
    ...(redis === undefined ? {} : { redis }),
    ...(whenDown === undefined ? {} : { redisWhenDown: whenDown }),
    cacheBytes,
    ...(metricsToken === undefined ? {} : { metricsToken }),
    ...(metricsPort === undefined ? {} : { metricsPort }),
    drainMs,
  };
}

function readConfig(path: string, read: (path: string) => string): Record<string, unknown> {
  let raw: string;
  try {
    raw = read(path);
  } catch (error) {
    throw new UsageError(`--config ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`--config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--config ${path} must hold a JSON object of settings: ${SETTINGS.join(', ')}`);
  const unknown = Object.keys(parsed).filter((key) => !(SETTINGS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new UsageError(`--config ${path}: unknown setting ${unknown.map((k) => `"${k}"`).join(', ')}; the settings are ${SETTINGS.join(', ')}`);
  return parsed as Record<string, unknown>;
}

/** The limits checked by the server's own rules; `named(limit)` says where a bad one came from. */
function checkLimits(value: unknown, named: (name: string) => string, whole: string): ServerLimits {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${whole} must be an object of limits: ${LIMIT_NAMES.join(', ')}`);
  const unknown = Object.keys(value).filter((key) => !(LIMIT_NAMES as string[]).includes(key));
  if (unknown.length > 0) throw new UsageError(`${whole}: unknown limit ${unknown.map((k) => `"${k}"`).join(', ')}; the limits are ${LIMIT_NAMES.join(', ')}`);
  for (const [name, given] of Object.entries(value)) {
    try {
      serverLimits({ [name]: given });
    } catch (error) {
      // The first problem is enough: "must be a whole number from 100 to 600000".
      const said = (error as Error).message.replace(/^Bad options for "server limits": /, '').split('; ')[0].replace(`${name}: `, '');
      throw new UsageError(`${named(name)} ${said}, not ${JSON.stringify(given)}`);
    }
  }
  return value as ServerLimits;
}

function number(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === '') throw new UsageError(`${flag} needs a value`);
  const n = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'object' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, not "${String(value)}"`);
  return n;
}

function text(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === '') throw new UsageError(`${flag} needs a value`);
  if (Array.isArray(value)) throw new UsageError(`${flag} is given more than once`);
  return String(value);
}

const list = (value: string | undefined) =>
  value?.split(',')
    .map((part) => part.trim())
    .filter(Boolean);

function fileNumber(value: unknown, where: string): number {
  if (typeof value !== 'number') throw new UsageError(`${where} must be a number`);
  return value;
}

function fileText(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`${where} must be a non-empty string`);
  return value;
}

function fileList(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) throw new UsageError(`${where} must be an array of strings`);
  return value as string[];
}

function origins(value: unknown, where: string): '*' | string[] {
  if (value === '*') return '*';
  if (!Array.isArray(value) || value.length === 0) throw new UsageError(`${where} must be "*" or a list of origins such as https://app.example`);
  return value.map((item) => {
    const origin = normalOrigin(item);
    if (!origin) throw new UsageError(`${where}: ${JSON.stringify(item)} is not an origin such as https://app.example (scheme, host and port only)`);
    return origin;
  });
}
