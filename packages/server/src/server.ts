import type { Engine } from '@voxpipe/core';
import { Hono } from 'hono';
import type { AppEnv } from './app-env.js';
import { memoryAuthThrottle } from './auth-throttle.js';
import { engineHost } from './engine-host.js';
import { Limiter } from './limiter.js';
import { bindHttp, httpTimeouts, type ListenOptions } from './listen.js';
import { corsFor } from './middleware/cors.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { closeWhenBodyUnread } from './middleware/limits.js';
import { openStreams } from './open-streams.js';
import { metaRoutes } from './routes/meta.js';
import { tokenRoutes } from './routes/tokens.js';
import { ttsStreamRoutes } from './routes/tts-stream.js';
import { resolveServerOptions, type ServerOptions } from './server-options.js';
import { createTokenSigner } from './tokens.js';

export type { CorsOptions, ServerHooks, ServerOptions } from './server-options.js';
export type { ListenOptions } from './listen.js';
export type { Logger } from './logger.js';
export type { AuthBlock, AuthThrottle } from './auth-throttle.js';

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
  /** Ends open streams, closes every listener and the engine the server started. */
  close(): Promise<void>;
  /** Streams open now. */
  readonly openStreams: number;
  /** Streams ended because the client read nothing for `limits.idleTimeoutMs`. */
  readonly idleCuts: number;
}

/**
 * The reference `/v1/tts/stream` service as a Hono app: POST /v1/tts/stream
 * (X-API-Key, JSON body; PCM, MP3 or WAV, streamed as it is made; Range
 * resume), POST /v1/tokens, GET /v1/models, /v1/voices, /healthz and the
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
  const { logger, limits, origins, keys, tokenSecret, engine } = resolveServerOptions(options);
  const tokens = createTokenSigner(tokenSecret);
  const limiter = new Limiter(limits);
  const throttle = options.authThrottle ?? memoryAuthThrottle({ failures: limits.authFailures, windowMs: limits.authFailureWindowMs, logger });
  const trustProxy = options.trustProxy === true;
  const engines = engineHost(engine);
  const streams = openStreams();
  const listeners = new Set<ListeningServer>();
  let closed = false;

  const app = new Hono<AppEnv>();
  app.use('*', closeWhenBodyUnread());
  app.use('*', corsFor(origins));
  app.onError(errorHandler(logger));
  app.notFound(notFound);
  app.route('/', metaRoutes({ engines, openStreams: () => limiter.openStreams, demoPage: options.demoPage, logger }));
  app.route('/', ttsStreamRoutes({ keys, tokens, limiter, limits, engines, streams, logger, hooks: options.hooks, throttle, trustProxy, closing: () => closed }));
  app.route('/', tokenRoutes({ keys, tokens, limiter, origins, throttle, trustProxy, bodyTimeoutMs: limits.bodyTimeoutMs }));

  const ready = async () => (await engines.ready()).engine;

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
    async listen(listenOptions = {}) {
      const started = await ready();
      const bound = await bindHttp(app.fetch, listenOptions, httpTimeouts(limits.headersTimeoutMs, limits.bodyTimeoutMs));
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
            if (listeners.size === 0) await server.close();
          })();
          return closing;
        },
      };
      listeners.add(listening);
      return listening;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners].map((l) => l.close()));
      await streams.endAll();
      await engines.close();
    },
  };
  return server;
}
