import type { Engine } from '@voxpipe/core';
import { Hono } from 'hono';
import type { AppEnv } from './app-env.js';
import { memoryAuthThrottle } from './auth-throttle.js';
import { audioCache, type AudioCache } from './audio-cache.js';
import { engineHost } from './engine-host.js';
import { MemoryLimiter, observedLimiter, type Limiter } from './limiter.js';
import { bindHttp, httpTimeouts, type BoundServer, type ListenOptions } from './listen.js';
import { corsFor } from './middleware/cors.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { closeWhenBodyUnread } from './middleware/limits.js';
import { observeRequests } from './middleware/observe.js';
import { meteredEngine } from './metered-engine.js';
import { serverMetrics, type ServerMetrics } from './metrics.js';
import { metricsRoutes } from './routes/metrics.js';
import { openStreams } from './open-streams.js';
import { redisAuthThrottle } from './redis-auth-throttle.js';
import { connectRedis, type SharedRedis } from './redis-connection.js';
import { redisLimiter } from './redis-limiter.js';
import { memoryRevocations, redisRevocations } from './revocations.js';
import { metaRoutes } from './routes/meta.js';
import { tokenRoutes } from './routes/tokens.js';
import { ttsStreamRoutes } from './routes/tts-stream.js';
import { ttsTimestampsRoutes } from './routes/tts-stream-timestamps.js';
import { resolveServerOptions, type ServerOptions } from './server-options.js';
import { createTokenSigner } from './tokens.js';

export type { CorsOptions, MetricsOptions, ServerHooks, ServerOptions } from './server-options.js';
export type { ListenOptions } from './listen.js';
export type { Logger } from './logger.js';
export type { AuthBlock, AuthThrottle } from './auth-throttle.js';
export type { RedisOptions } from './redis-connection.js';

export interface ListeningServer {
  url: string;
  port: number;
  /** Ends open streams, stops listening and frees the engine if the server started it. */
  close(): Promise<void>;
}

export interface VoxpipeServer {
  /** The Hono app: `app.fetch` is a standard fetch handler. */
  readonly app: Hono<AppEnv>;
  /** Set when no key was configured: the key generated for this run. */
  readonly developmentKey: string | undefined;
  /** Resolves with the engine once it is started and warm. */
  ready(): Promise<Engine>;
  /** Starts an HTTP server on Node (`@hono/node-server`). */
  listen(options?: ListenOptions): Promise<ListeningServer>;
  /**
   * Ends open streams, closes every listener and the engine the server
   * started. With `drainMs`, first drains: new work is answered 503
   * `unavailable` with `Retry-After` and `/readyz` 503 (still listening, so
   * health checks see it; `/healthz` stays 200), open streams have up to
   * `drainMs` to finish, and only then are the rest cut (their clients
   * resume on another server with `Range`).
   */
  close(options?: { drainMs?: number }): Promise<void>;
  /** True from the start of `close()`: `/readyz` answers 503 so a balancer sends new work elsewhere. */
  readonly draining: boolean;
  /** Streams open now. */
  readonly openStreams: number;
  /** Streams ended because the client read nothing for `limits.idleTimeoutMs`. */
  readonly idleCuts: number;
}

/**
 * The reference `/v1/tts/stream` service as a Hono app: POST /v1/tts/stream
 * (X-API-Key, JSON body; PCM, MP3 or WAV, streamed as it is made; Range
 * resume), POST /v1/tts/stream/with-timestamps (the same audio as ndjson
 * lines, with its words timed), POST /v1/tokens, GET /v1/models, /v1/voices, /healthz and the
 * demo page. This wires the parts: options, CORS, the error mapping,
 * failed-login throttling, the routes, and Node listeners (with header and
 * body timeouts; a request refused before its body was read closes its
 * connection); `close()` ends streams, listeners and the engine it started.
 *
 * ```ts
 * const server = createServer({ keys: ['secret'] });
 * const { url, close } = await server.listen({ port: 8080 });
 * ```
 */
export function createServer(options: ServerOptions = {}): VoxpipeServer {
  const resolved = resolveServerOptions(options);
  const { logger, limits, origins, keys, tokenSecret, engine, redis } = resolved;
  const shared: SharedRedis | undefined = redis ? connectRedis(redis, logger) : undefined;
  const tokens = createTokenSigner(tokenSecret, shared ? redisRevocations(shared) : memoryRevocations());
  const streams = openStreams();
  const metrics: ServerMetrics | undefined =
    resolved.metrics === false
      ? undefined
      : serverMetrics({
          engineStats: () => (engines.current()?.engine as { stats?: () => { workers?: number; busy?: number; queued?: number } } | undefined)?.stats?.(),
          openStreams: () => streams.size,
          idleCuts: () => streams.idleCuts,
          cacheBytes: () => cache?.bytes ?? 0,
        });
  const cache: AudioCache | undefined = resolved.cacheBytes > 0 ? audioCache({ maxBytes: resolved.cacheBytes, onEvent: metrics ? (event) => metrics.cache(event) : undefined }) : undefined;
  const store: Limiter = shared ? redisLimiter(shared, limits) : new MemoryLimiter(limits);
  const limiter = metrics ? observedLimiter(store, (decision) => metrics.decision(decision)) : store;
  const throttleOptions = { failures: limits.authFailures, windowMs: limits.authFailureWindowMs, logger };
  const throttle = options.authThrottle ?? (shared ? redisAuthThrottle(shared, throttleOptions) : memoryAuthThrottle(throttleOptions));
  const trustProxy = options.trustProxy === true;
  const engines = engineHost(engine, metrics ? (e) => meteredEngine(e, (audio, wall) => metrics.synthesis(audio, wall)) : undefined);
  const metricsListen = resolved.metrics !== false && resolved.metrics.port !== undefined ? resolved.metrics : undefined;
  const listeners = new Set<ListeningServer>();
  let closed = false;
  let draining = false;
  let shutdown: Promise<void> | undefined;

  const app = new Hono<AppEnv>();
  app.use('*', observeRequests({ logger, metrics }));
  app.use('*', closeWhenBodyUnread());
  app.use('*', corsFor(origins));
  app.onError(errorHandler(logger));
  app.notFound(notFound);
  app.route('/', metaRoutes({ engines, openStreams: () => limiter.openStreams, draining: () => draining, limits: () => limiter.store, demoPage: options.demoPage, logger }));
  const streamDeps = { keys, tokens, limiter, limits, engines, streams, logger, hooks: options.hooks, throttle, trustProxy, cache, closing: () => draining };
  app.route('/', ttsStreamRoutes(streamDeps));
  app.route('/', ttsTimestampsRoutes(streamDeps));
  const metricsRoute = metrics && resolved.metrics !== false ? metricsRoutes({ metrics, token: resolved.metrics.token, loopbackOnly: true }) : undefined;
  if (metricsRoute && !metricsListen) app.route('/', metricsRoute);
  app.route('/', tokenRoutes({ keys, tokens, limiter, origins, throttle, trustProxy, bodyTimeoutMs: limits.bodyTimeoutMs }));

  const ready = async () => (await engines.ready()).engine;
  let metricsBound: Promise<BoundServer> | undefined;
  const serveMetrics = () => {
    if (!metricsListen || !metricsRoute) return undefined;
    return (metricsBound ??= (async () => {
      const only = new Hono<AppEnv>();
      only.onError(errorHandler(logger));
      only.notFound(notFound);
      only.route('/', metricsRoute);
      const bound = await bindHttp(only.fetch, { port: metricsListen.port, host: metricsListen.host ?? '127.0.0.1' });
      logger.info(`metrics on ${bound.url}/metrics`);
      return bound;
    })());
  };

  const server: VoxpipeServer = {
    app,
    developmentKey: keys.developmentKey,
    ready,
    get openStreams() {
      return limiter.openStreams;
    },
    get idleCuts() {
      return streams.idleCuts;
    },
    get draining() {
      return draining;
    },
    async listen(listenOptions = {}) {
      const started = await ready();
      const bound = await bindHttp(app.fetch, listenOptions, httpTimeouts(limits.headersTimeoutMs, limits.bodyTimeoutMs));
      await serveMetrics();
      logger.info(`listening on ${bound.url} (engine ${started.name})`);
      if (keys.developmentKey) logger.info(`no API keys configured; development key for this run: ${keys.developmentKey}`);
      let closing: Promise<void> | undefined;
      const listening: ListeningServer = {
        url: bound.url,
        port: bound.port,
        close() {
          closing ??= (async () => {
            listeners.delete(listening);
            // Ends open streams: the adapter cancels each body, which stops its synthesis.
            await bound.close();
            if (listeners.size === 0 && !closed) await server.close();
          })();
          return closing;
        },
      };
      listeners.add(listening);
      return listening;
    },
    close(closeOptions = {}) {
      return (shutdown ??= shutDown(closeOptions.drainMs ?? 0));
    },
  };

  async function shutDown(drainMs: number): Promise<void> {
    draining = true;
    if (drainMs > 0 && streams.size > 0) {
      logger.info(`draining: ${streams.size} streams open; new work gets 503, open streams have ${drainMs / 1000} s to finish`);
      const deadline = performance.now() + drainMs;
      while (streams.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      if (streams.size > 0) logger.warn(`drain deadline: cutting ${streams.size} open streams (their clients resume elsewhere with Range)`);
    }
    closed = true;
    await Promise.all([...listeners].map((l) => l.close()));
    await streams.endAll();
    await (await metricsBound?.catch(() => undefined))?.close();
    await limiter.close?.();
    await shared?.close();
    await engines.close();
  }
  return server;
}
