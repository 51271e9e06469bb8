import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { VoxpipeError, type Engine, type EngineVoice, type SynthesisRequest } from '@voxpipe/core';
import { warmMp3Encoders } from '@voxpipe/codecs';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import * as v from 'valibot';
import { formatFromAccept } from './accept.js';
import { apiError } from './api-error.js';
import { audioBytes, audioHeaders, OUTPUT_RATE, type AudioRequest } from './audio.js';
import { loadDemoPage, type DemoPage } from './demo-page.js';
import { DEFAULT_ENGINE_MODULE, loadEngine } from './engine-loader.js';
import { guardBody } from './guard.js';
import { buildVoiceCatalog, DEFAULT_MODEL, findModel, findVoice, MODELS, type PublicVoice } from './catalog.js';
import { createKeyStore, keysFromEnv, readKeysFile } from './keys.js';
import { Limiter } from './limiter.js';
import { indexPage } from './page.js';
import { bodyFrom, parseRange, skipTo } from './range.js';
import { limitsSchema, parseTtsRequest, ttsRequestSchema, type ServerLimitsInput } from './request-schema.js';
import { createTokenSigner, DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, normalOrigin } from './tokens.js';

/** Where the server writes what it has to say. Keys are never passed to it (except the generated development key, once, at start). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

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
  hooks?: ServerHooks;
}

export interface ListenOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: only this machine. Use 0.0.0.0 to serve the network. */
  host?: string;
}

export interface ListeningServer {
  url: string;
  port: number;
  /** Ends open streams, stops listening and frees the engine if the server started it. */
  close(): Promise<void>;
}

export interface VoxpipeServer {
  /** The Hono app: `app.fetch` is a standard fetch handler. */
  readonly app: Hono;
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

const consoleLogger: Logger = {
  info: (m) => console.log(`[voxpipe] ${m}`),
  warn: (m) => console.warn(`[voxpipe] ${m}`),
  error: (m) => console.error(`[voxpipe] ${m}`),
};
const silentLogger: Logger = { info() {}, warn() {}, error() {} };

const EXPOSED_HEADERS = ['Content-Type', 'Content-Length', 'Content-Range', 'Accept-Ranges', 'X-Audio-Format', 'X-Audio-Encoding', 'X-Sample-Rate', 'X-Channels', 'X-Model', 'Retry-After'];

const corsSchema = v.optional(v.object({ origins: v.optional(v.union([v.literal('*'), v.array(v.pipe(v.string(), v.url()))]), '*') }), {});

/**
 * The reference `/v1/tts/stream` service as a Hono app: POST /v1/tts/stream
 * (X-API-Key, JSON body; PCM, MP3 or WAV, streamed as it is made; Range
 * resume), GET /v1/models, /v1/voices, /healthz and an index page.
 *
 * ```ts
 * const server = createServer({ keys: ['secret'] });
 * const { url, close } = await server.listen({ port: 8080 });
 * ```
 */
export function createServer(options: ServerOptions = {}): VoxpipeServer {
  const logger = options.logger === false ? silentLogger : (options.logger ?? consoleLogger);
  const limits = parseServerOption('limits', limitsSchema, options.limits ?? {});
  const corsOptions = parseServerOption('cors', corsSchema, options.cors);
  const env = options.env ?? process.env;
  const keysFile = options.keysFile ?? env.VOXPIPE_API_KEYS_FILE;
  const keys = createKeyStore([...(options.keys ?? []), ...keysFromEnv(env), ...(keysFile ? readKeysFile(keysFile) : [])]);
  const limiter = new Limiter(limits);
  const requestSchema = ttsRequestSchema({ maxTextChars: limits.maxTextChars });
  const ownsEngine = options.engine === undefined || options.engine === 'espeak';
  const engineModule = options.engineModule ?? env.VOXPIPE_ENGINE_MODULE ?? DEFAULT_ENGINE_MODULE;
  const tokenSecret = options.tokens?.secret ?? env.VOXPIPE_TOKEN_SECRET;
  if (tokenSecret !== undefined && tokenSecret.length < 16) throw new VoxpipeError('bad-request', 'Bad server option "tokens.secret": use at least 16 characters');
  const tokens = createTokenSigner(tokenSecret);
  let idleCuts = 0;
  const active = new Set<AbortController>();
  const listeners = new Set<ListeningServer>();

  let starting: Promise<Engine> | undefined;
  let engine: Engine | undefined;
  let catalog: { voices: readonly EngineVoice[]; public: PublicVoice[] } | undefined;
  let closed = false;
  const ready = (): Promise<Engine> => {
    // Warming two MP3 encoders alongside the engine lets the first MP3 streams skip LAME's start-up.
    starting ??= Promise.all([ownsEngine ? loadEngine(engineModule) : Promise.resolve(options.engine as Engine | Promise<Engine>), warmMp3Encoders(2).catch(() => {})]).then(([e]) => {
      engine = e;
      const voices = e.voices();
      catalog = { voices, public: buildVoiceCatalog(voices) };
      return e;
    });
    return starting;
  };

  const app = new Hono();

  app.use(
    '*',
    cors({
      origin: corsOptions.origins === '*' ? '*' : (origin) => ((corsOptions.origins as string[]).includes(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['X-API-Key', 'Authorization', 'X-API-Token', 'Content-Type', 'Range', 'Accept'],
      exposeHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    }),
  );

  app.onError((error, c) => {
    logger.error(`${c.req.method} ${c.req.path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return apiError(500, 'internal', 'Internal server error');
  });
  app.notFound((c) => apiError(404, 'not-found', `No route for ${c.req.method} ${c.req.path}`));

  app.get('/healthz', async (c) => {
    if (!engine) return c.json({ ok: false, status: 'starting' }, 503);
    return c.json({ ok: true, engine: engine.name, sampleRate: OUTPUT_RATE, openStreams: limiter.openStreams });
  });

  app.get('/v1/models', (c) =>
    c.json({
      models: MODELS.map((m) => ({ id: m.id, streaming: m.path, defaultFormat: m.defaultFormat, speed: m.speed, pitch: m.pitch, description: m.description })),
      default: DEFAULT_MODEL,
    }),
  );

  app.get('/v1/voices', async (c) => {
    await ready();
    const language = c.req.query('language')?.toLowerCase();
    const voices = catalog!.public.filter((voice) => !language || voice.language.toLowerCase() === language);
    return c.json({ voices: voices.map(({ name, language: lang, gender, engineVoice }) => ({ name, language: lang, gender, engineVoice })) });
  });

  // The browser player (bundled from @voxpipe/browser when this package is built); the plain listing where it was not built.
  let demo: Promise<DemoPage | undefined> | undefined;
  const demoPage = () => (demo ??= loadDemoPage().then(
    (page) => {
      if (!page) logger.warn('demo page not built (run the build), serving the plain listing');
      return page;
    },
    (error: unknown) => {
      logger.warn(`demo page unavailable, serving the plain listing: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    },
  ));
  app.get('/', async (c) => {
    await ready();
    const page = options.demoPage === false ? undefined : await demoPage();
    return page ? c.html(page.html) : c.html(indexPage(MODELS, catalog!.public, engine!.name));
  });
  app.get('/demo.js', async (c) => {
    const page = options.demoPage === false ? undefined : await demoPage();
    if (!page) return apiError(404, 'not-found', 'There is no demo script on this server');
    return c.body(page.js, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
  });

  app.post(
    '/v1/tts/stream',
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => apiError(413, 'payload-too-large', `The request body is larger than ${limits.maxBodyBytes} bytes`),
    }),
    (c) => stream(c),
  );
  app.post(
    '/v1/tokens',
    bodyLimit({ maxSize: 4096, onError: () => apiError(413, 'payload-too-large', 'The request body is larger than 4096 bytes') }),
    (c) => issueToken(c),
  );
  app.all('/v1/tokens', () => apiError(405, 'method-not-allowed', 'Use POST /v1/tokens', { Allow: 'POST, OPTIONS' }));
  app.all('/v1/tts/stream', () => apiError(405, 'method-not-allowed', 'Use POST /v1/tts/stream', { Allow: 'POST, OPTIONS' }));

  /** The key a request speaks for: an API key (X-API-Key), or a browser token (Authorization: Bearer, or X-API-Token) checked against the request's Origin. */
  function authenticate(c: Context, allowToken: boolean): { keyId: string } | Response {
    const apiKey = c.req.header('x-api-key');
    if (apiKey !== undefined) {
      const keyId = keys.check(apiKey);
      return keyId ? { keyId } : apiError(401, 'unauthorized', 'The API key is not valid');
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const token = bearer ?? c.req.header('x-api-token');
    if (token === undefined) return apiError(401, 'unauthorized', allowToken ? 'Missing X-API-Key header (or a browser token: Authorization: Bearer <token>)' : 'Missing X-API-Key header');
    if (!allowToken) return apiError(401, 'unauthorized', 'Tokens cannot be used here: send X-API-Key');
    const checked = tokens.verify(token, c.req.header('origin'), Date.now() / 1000);
    if (!checked.ok) {
      const why = {
        malformed: 'The token is not valid',
        'bad-signature': 'The token is not valid',
        expired: 'The token has expired: ask your backend for a new one',
        'wrong-origin': 'The token was issued for another origin',
      }[checked.reason];
      return apiError(401, checked.reason === 'expired' ? 'token-expired' : 'unauthorized', why);
    }
    if (!keys.hasId(checked.claims.keyId)) return apiError(401, 'unauthorized', 'The key that issued this token is no longer valid');
    return { keyId: checked.claims.keyId };
  }

  /** POST /v1/tokens {origin, ttlSeconds?} with X-API-Key: a short-lived token a page at `origin` can use instead of the key. */
  async function issueToken(c: Context): Promise<Response> {
    const auth = authenticate(c, false);
    if (auth instanceof Response) return auth;
    const refused = limiter.take(auth.keyId);
    if (refused) return apiError(429, 'rate-limited', refused.message, { 'Retry-After': String(refused.retryAfter) });
    let body: { origin?: unknown; ttlSeconds?: unknown };
    try {
      body = JSON.parse(await c.req.text());
    } catch (error) {
      if (error instanceof SyntaxError) return apiError(400, 'invalid-json', `The body is not valid JSON: ${error.message}`);
      throw error;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return apiError(400, 'invalid-body', 'The body must be a JSON object: {"origin": "https://app.example", "ttlSeconds": 300}');
    const origin = normalOrigin(body.origin);
    if (!origin) return apiError(400, 'invalid-origin', 'origin must be an http(s) origin such as "https://app.example" (scheme, host and port only)');
    if (corsOptions.origins !== '*' && !corsOptions.origins.includes(origin)) return apiError(400, 'origin-not-allowed', `${origin} is not an allowed origin on this server`);
    const ttl = body.ttlSeconds ?? DEFAULT_TOKEN_TTL_S;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S) return apiError(400, 'invalid-ttl', `ttlSeconds must be a whole number from 1 to ${MAX_TOKEN_TTL_S}`);
    const exp = Math.floor(Date.now() / 1000) + ttl;
    const token = tokens.issue({ origin, exp, keyId: auth.keyId });
    return c.json({ token, origin, expiresAt: new Date(exp * 1000).toISOString(), expiresIn: ttl }, 200, { 'Cache-Control': 'no-store' });
  }

  async function stream(c: Context): Promise<Response> {
    if (closed) return apiError(503, 'unavailable', 'The server is shutting down', { 'Retry-After': '5' });
    const auth = authenticate(c, true);
    if (auth instanceof Response) return auth;
    const keyId = auth.keyId;

    const admitted = limiter.admit(keyId);
    if ('reason' in admitted) {
      return apiError(429, admitted.reason === 'rate' ? 'rate-limited' : 'too-many-streams', admitted.message, { 'Retry-After': String(admitted.retryAfter) });
    }
    let handedOver = false;
    try {
      const response = await respond(c, keyId, () => {
        handedOver = true;
        return admitted.release;
      });
      return response;
    } finally {
      if (!handedOver) admitted.release();
    }
  }

  /** Validates and starts one stream; `takeRelease` hands the stream slot to the body (released when it ends). */
  async function respond(c: Context, keyId: string, takeRelease: () => () => void): Promise<Response> {
    let body: unknown;
    try {
      const raw = await c.req.text();
      body = JSON.parse(raw);
    } catch (error) {
      if (error instanceof SyntaxError) return apiError(400, 'invalid-json', `The body is not valid JSON: ${error.message}`);
      throw error;
    }
    const parsed = parseTtsRequest(requestSchema, body);
    if (!parsed.ok) return apiError(400, parsed.code, parsed.message);
    const request = parsed.value;

    const model = findModel(request.model ?? DEFAULT_MODEL);
    if (!model) return apiError(400, 'unknown-model', `Unknown model "${request.model}"; models: ${MODELS.map((m) => m.id).join(', ')} (and other aura-* names)`);
    if (request.pitch !== undefined && !model.pitch) {
      return apiError(400, 'pitch-not-supported', `pitch is not available on ${model.id}'s streaming path (provider streaming); leave pitch out, or use rapid-flash, which applies both speed and pitch`);
    }

    const ranged = parseRange(c.req.header('range'));
    if (ranged === 'invalid') return apiError(416, 'range-not-satisfiable', 'Only one "bytes=N-" (or "bytes=N-M") range is served', { 'Content-Range': 'bytes */*' });

    const activeEngine = await ready();
    const languages = [...new Set(catalog!.voices.map((voice) => voice.language))];
    const language = languages.find((l) => l.toLowerCase() === request.language.toLowerCase());
    if (!language) return apiError(400, 'unknown-language', `Unknown language "${request.language}"; languages: ${languages.join(', ')}`);
    const engineVoice = findVoice(catalog!.public, catalog!.voices, request.voice, language);
    if (!engineVoice) {
      const names = catalog!.public.filter((p) => p.language === language).map((p) => p.name);
      return apiError(400, 'unknown-voice', `Unknown voice "${request.voice}" for ${language}; voices: ${names.join(', ')}`);
    }
    const format = request.format ?? formatFromAccept(c.req.header('accept')) ?? model.defaultFormat;

    const audio: AudioRequest = { path: model.path, text: request.text, voice: engineVoice, speed: request.speed, pitch: request.pitch, format };
    const stop = new AbortController();
    const clientSignal = c.req.raw.signal;
    const onClientGone = () => stop.abort(new VoxpipeError('aborted', 'The client went away'));
    if (clientSignal.aborted) onClientGone();
    else clientSignal.addEventListener('abort', onClientGone, { once: true });
    active.add(stop);
    const started = performance.now();
    const finish = () => {
      active.delete(stop);
      clientSignal.removeEventListener('abort', onClientGone);
    };

    const decorate = options.hooks?.synthesis ? (r: SynthesisRequest) => options.hooks!.synthesis!(r, { keyId, text: request.text }) : undefined;
    const reader = audioBytes(activeEngine, audio, stop.signal, (stage, w) => logger.warn(`${stage}: ${w.code}: ${w.message}`), decorate).getReader();
    let start: Awaited<ReturnType<typeof skipTo>>;
    try {
      start = await skipTo(reader, ranged?.start ?? 0);
    } catch (error) {
      const gone = stop.signal.aborted;
      finish();
      stop.abort();
      await reader.cancel().catch(() => {});
      if (error instanceof VoxpipeError && error.code === 'bad-request') return apiError(400, 'bad-request', error.message);
      if (gone) return apiError(499, 'aborted', 'The request was aborted');
      logger.error(`synthesis failed before the first byte (key ${keyId}): ${error instanceof Error ? error.message : String(error)}`);
      return apiError(500, 'internal', 'Synthesis failed');
    }
    if (start.kind === 'past-end') {
      finish();
      return apiError(416, 'range-not-satisfiable', `The stream is ${start.total} bytes long`, { 'Content-Range': `bytes */${start.total}` });
    }

    const release = takeRelease();
    const limit = ranged?.end !== undefined ? ranged.end - ranged.start + 1 : undefined;
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    const audioBody = guardBody(
      bodyFrom(start.first, start.reader, limit, () => {
        release();
        finish();
        logger.debug?.(`stream key=${keyId} model=${model.id} format=${format} ${Math.round(performance.now() - started)} ms`);
      }),
      {
        idleTimeoutMs: limits.idleTimeoutMs,
        onIdle() {
          idleCuts++;
          logger.warn(`stream ended (key ${keyId}, model ${model.id}): the client read nothing for ${limits.idleTimeoutMs / 1000} s`);
        },
        onFailure(error) {
          logger.error(`stream failed mid-way (key ${keyId}, model ${model.id}): ${error instanceof Error ? error.message : String(error)}`);
        },
        abortConnection: outgoing ? () => outgoing.destroy() : undefined,
      },
    );
    const headers: Record<string, string> = {
      ...audioHeaders(format),
      'Cache-Control': 'no-store',
      'Accept-Ranges': 'bytes',
      'X-Model': model.id,
      'X-Content-Type-Options': 'nosniff',
    };
    if (ranged) headers['Content-Range'] = `bytes ${ranged.start}-${ranged.end ?? '*'}/*`;
    return new Response(audioBody, { status: ranged ? 206 : 200, headers });
  }

  const server: VoxpipeServer = {
    app,
    developmentKey: keys.developmentKey,
    ready,
    get openStreams() {
      return limiter.openStreams;
    },
    get idleCuts() {
      return idleCuts;
    },
    async listen(listenOptions = {}) {
      await ready();
      const host = listenOptions.host ?? '127.0.0.1';
      const http = await new Promise<Server>((resolve, reject) => {
        const port = listenOptions.port ?? 0;
        const s = serve({ fetch: app.fetch, port, hostname: host, overrideGlobalObjects: false }) as Server;
        s.once('listening', () => resolve(s));
        s.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
      });
      const port = (http.address() as AddressInfo).port;
      const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      const url = `http://${shownHost}:${port}`;
      logger.info(`listening on ${url} (engine ${engine!.name})`);
      if (keys.developmentKey) logger.info(`no API keys configured; development key for this run: ${keys.developmentKey}`);
      let closing: Promise<void> | undefined;
      const listening: ListeningServer = {
        url,
        port,
        close() {
          closing ??= (async () => {
            listeners.delete(listening);
            await new Promise<void>((resolve) => {
              http.close(() => resolve());
              // Ends open streams: the adapter cancels each body, which stops its synthesis.
              http.closeAllConnections();
            });
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
      // Closed connections cancel their streams on their own; give that a moment, then
      // end whatever is left (streams not tied to a listener: app.fetch used directly).
      for (let turn = 0; turn < 50 && active.size > 0; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
      for (const controller of [...active]) controller.abort(new VoxpipeError('aborted', 'The server is closing'));
      if (ownsEngine && starting) await (await starting.catch(() => undefined))?.close();
    },
  };
  return server;
}

/** A listen failure in words: the port in use, a port that needs privileges, an address this machine does not have. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): VoxpipeError {
  const where = `${host}:${port}`;
  const said: Record<string, string> = {
    EADDRINUSE: `Port ${port} on ${host} is already in use: stop the other server or pick another port (--port, or 0 for any free one)`,
    EACCES: `Not allowed to listen on ${where}: ports below 1024 need privileges; pick a port above 1024`,
    EADDRNOTAVAIL: `Cannot listen on ${where}: this machine has no such address`,
  };
  return new VoxpipeError('network', said[error.code ?? ''] ?? `Cannot listen on ${where}: ${error.message}`, { cause: error, retryable: false });
}

function parseServerOption<S extends v.GenericSchema>(name: string, schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => `${v.getDotPath(issue) ?? name}: ${issue.message}`);
  throw new VoxpipeError('bad-request', `Bad server option "${name}": ${problems.join('; ')}`);
}
