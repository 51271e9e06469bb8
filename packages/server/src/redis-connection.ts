import { Redis } from 'ioredis';
import { describeError, type Logger } from './logger.js';

/** Where the state shared by several servers lives, and what to do while it is unreachable. */
export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** Prefix of every key the server writes. Default `voxpipe:`. */
  prefix?: string;
  /** An open stream's slot expires this long after its server last renewed it (renewed every third of it), so a server that dies frees its slots. Default 15,000 ms. */
  leaseMs?: number;
  /** A Redis command that takes longer fails (and the server decides alone). Default 500 ms. */
  commandTimeoutMs?: number;
  /** While Redis is unreachable: `'local'` (the default) decides with this server's own limits; `'refuse'` answers 503 `unavailable`. */
  whenDown?: 'local' | 'refuse';
}

/** One connection to the shared Redis, with whether it is usable now. */
export interface SharedRedis {
  readonly client: Redis;
  readonly prefix: string;
  readonly leaseMs: number;
  readonly whenDown: 'local' | 'refuse';
  /** True while connected (commands are sent); false while reconnecting (callers decide alone at once). */
  readonly up: boolean;
  /**
   * Runs `command` against Redis; undefined (and the outage logged, once)
   * when Redis is unreachable or the command fails, so the caller falls
   * back to its own decision.
   */
  run<T>(command: (client: Redis) => Promise<T>): Promise<T | undefined>;
  /** Calls `listener` each time the connection comes back. */
  onUp(listener: () => void): void;
  close(): Promise<void>;
}

/**
 * Connects to the Redis that several servers share for their limits. It
 * never blocks a request on a lost connection: commands are not queued while
 * it is down (each fails at once and the caller decides alone), it
 * reconnects by itself (every 0.1–2 s), and it logs once when Redis becomes
 * unreachable and once when it is back.
 *
 * ```ts
 * const shared = connectRedis({ url: 'redis://127.0.0.1:6379' }, logger);
 * const n = await shared.run((r) => r.incr('k')); // undefined while Redis is down
 * ```
 */
export function connectRedis(options: RedisOptions, logger: Logger): SharedRedis {
  const client = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: false,
  });
  const where = redactedUrl(options.url);
  const listeners: Array<() => void> = [];
  let everUp = false;
  let toldDown = false;
  let closed = false;
  const down = (why: string) => {
    if (toldDown || closed) return;
    toldDown = true;
    logger.warn(`redis ${where} unreachable (${why}): ${options.whenDown === 'refuse' ? 'refusing limited requests with 503' : "deciding limits with this server's own counts"} until it returns`);
  };
  const back = () => {
    if (toldDown || !everUp) logger.info(`redis ${where} ${everUp ? 'is back: shared limits apply again' : 'connected: limits are shared'}`);
    everUp = true;
    toldDown = false;
  };
  client.on('ready', () => {
    back();
    for (const listener of listeners) listener();
  });
  client.on('error', (error) => down(describeError(error)));
  client.on('close', () => {
    if (everUp) down('connection closed');
  });
  // Down until connected: a server whose Redis never answers decides alone from its first request.
  const isUp = () => client.status === 'ready';
  return {
    client,
    prefix: options.prefix ?? 'voxpipe:',
    leaseMs: options.leaseMs ?? 15_000,
    whenDown: options.whenDown ?? 'local',
    get up() {
      return isUp();
    },
    async run(command) {
      if (!isUp()) {
        if (everUp) down(`connection ${client.status}`);
        return undefined;
      }
      try {
        const result = await command(client);
        if (toldDown) back();
        return result;
      } catch (error) {
        const said = describeError(error);
        // A script's own error is a bug, not an outage: said every time.
        if (/^(ERR|WRONGTYPE)/.test(said)) logger.error(`redis command failed: ${said}`);
        else down(said);
        return undefined;
      }
    },
    onUp(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      client.removeAllListeners('ready');
      client.disconnect(false);
    },
  };
}

/** The URL without its password, for logs. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}
