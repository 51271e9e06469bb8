import type { SynthesisRequest } from '@voxpipe/core';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { AudioCache } from '../audio-cache.js';
import type { AuthThrottle } from '../auth-throttle.js';
import type { EngineHost } from '../engine-host.js';
import { readJsonObject } from '../json-body.js';
import type { KeyStore } from '../keys.js';
import type { Limiter } from '../limiter.js';
import type { Logger } from '../logger.js';
import { requireKey } from '../middleware/auth.js';
import { methodNotAllowed } from '../middleware/errors.js';
import { openUntilClosing, streamSlot } from '../middleware/limits.js';
import type { OpenStreams } from '../open-streams.js';
import { ttsRequestSchema, type ServerLimits } from '../request-schema.js';
import type { ServerHooks } from '../server-options.js';
import { planStream } from '../stream-plan.js';
import { streamResponse } from '../stream-response.js';
import type { TokenSigner } from '../tokens.js';

export interface TtsStreamDeps {
  keys: KeyStore;
  tokens: TokenSigner;
  limiter: Limiter;
  limits: ServerLimits;
  engines: EngineHost;
  streams: OpenStreams;
  logger: Logger;
  hooks?: ServerHooks;
  /** Failed-login throttling per client address. */
  throttle?: AuthThrottle;
  /** Client addresses from `X-Forwarded-For`'s first hop. */
  trustProxy?: boolean;
  /** Complete streams by ETag, served again without the engine. */
  cache?: AudioCache;
  /** True once the server is shutting down: new streams get 503. */
  closing(): boolean;
}

/**
 * POST /v1/tts/stream: speech streamed as it is made. From the headers
 * alone, the server must be open, the caller known (API key or browser
 * token, its address not throttled) and within its limits; only then is the
 * body read (bounded in size and time), the request checked and the audio
 * started (PCM, MP3 or WAV; `Range` resumes, `If-Range` makes sure it is the
 * same stream: every response carries the stream's strong ETag when the
 * engine is deterministic). Other methods get 405.
 *
 * ```ts
 * app.route('/', ttsStreamRoutes({ keys, tokens, limiter, limits, engines, streams, logger, closing: () => false }));
 * ```
 */
export function ttsStreamRoutes(deps: TtsStreamDeps): Hono<AppEnv> {
  return streamRoute(deps, '/v1/tts/stream', { timestamps: false });
}

/**
 * A POST route that streams speech as /v1/tts/stream does — the same
 * checks, limits, body, errors, Range and ETag — answering with the audio
 * (`timestamps: false`) or with ndjson lines of the same audio and its words.
 *
 * ```ts
 * app.route('/', streamRoute(deps, '/v1/tts/stream/with-timestamps', { timestamps: true }));
 * ```
 */
export function streamRoute(deps: TtsStreamDeps, path: string, { timestamps }: { timestamps: boolean }): Hono<AppEnv> {
  const schema = ttsRequestSchema({ maxTextChars: deps.limits.maxTextChars });
  const synthesisHook = deps.hooks?.synthesis;
  return new Hono<AppEnv>()
    .post(
      path,
      openUntilClosing(deps.closing),
      requireKey({ keys: deps.keys, tokens: deps.tokens, throttle: deps.throttle, trustProxy: deps.trustProxy }),
      streamSlot(deps.limiter),
      async (c) => {
        const body = await readJsonObject(c, { maxBytes: deps.limits.maxBodyBytes, timeoutMs: deps.limits.bodyTimeoutMs });
        const plan = await planStream({ body, accept: c.req.header('accept'), range: c.req.header('range'), ifRange: c.req.header('if-range') }, schema, deps.engines);
        const keyId = c.var.keyId;
        const outgoing = c.env?.outgoing;
        return streamResponse(plan, {
          keyId,
          clientSignal: c.req.raw.signal,
          takeStreamSlot: c.var.takeStreamSlot,
          streams: deps.streams,
          logger: deps.logger,
          idleTimeoutMs: deps.limits.idleTimeoutMs,
          decorate: synthesisHook ? (request: SynthesisRequest) => synthesisHook(request, { keyId, text: plan.audio.text }) : undefined,
          abortConnection: outgoing ? () => outgoing.destroy() : undefined,
          cache: deps.cache,
          timestamps,
        });
      },
    )
    .all(path, methodNotAllowed('POST', path));
}
