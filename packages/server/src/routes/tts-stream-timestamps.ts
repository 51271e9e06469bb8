import type { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { streamRoute, type TtsStreamDeps } from './tts-stream.js';

/**
 * POST /v1/tts/stream/with-timestamps: the speech of /v1/tts/stream (the
 * same body, key, limits, errors, Range and ETag) with its words, as
 * `application/x-ndjson` lines `{"audio":"<base64>"}` — their bytes joined
 * are exactly what /v1/tts/stream sends — and
 * `{"words":[{"text","start","end","charStart","charEnd"}]}`, seconds from the
 * start of the engine's PCM, each line before the audio its words start in.
 * `Range: bytes=N-` counts audio bytes: a 206 of lines with the audio from
 * byte N and the words from there.
 *
 * ```ts
 * app.route('/', ttsTimestampsRoutes({ keys, tokens, limiter, limits, engines, streams, logger, closing: () => false }));
 * ```
 */
export function ttsTimestampsRoutes(deps: TtsStreamDeps): Hono<AppEnv> {
  return streamRoute(deps, '/v1/tts/stream/with-timestamps', { timestamps: true });
}
