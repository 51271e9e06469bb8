import { formatFromAccept } from './accept.js';
import { ApiError } from './api-error.js';
import type { AudioRequest } from './audio.js';
import { DEFAULT_MODEL, findModel, findVoice, MODELS, type ModelInfo } from './catalog.js';
import type { EngineHost, ReadyEngine } from './engine-host.js';
import { parseRange, type ByteRange } from './range.js';
import { parseTtsRequest, type ttsRequestSchema } from './request-schema.js';
import { rangeHolds, streamTag } from './stream-tag.js';

/** What one stream will be: the model, the audio to make, and the byte range to send. */
export interface StreamPlan {
  model: ModelInfo;
  audio: AudioRequest;
  /** The `Range` to send; undefined for the whole stream (none asked for, or an If-Range that does not hold). */
  range: ByteRange | undefined;
  /** The stream's strong ETag; undefined when the engine has no build (not deterministic). */
  tag: string | undefined;
  /** The started engine to make it with. */
  ready: ReadyEngine;
}

export interface StreamRequest {
  /** The parsed JSON body. */
  body: unknown;
  /** The `Accept` header: picks the format when the body names none. */
  accept: string | undefined;
  /** The `Range` header. */
  range: string | undefined;
  /** The `If-Range` header: the Range holds only when it is the stream's ETag. */
  ifRange?: string | undefined;
}

/**
 * Checks a POST /v1/tts/stream request and decides what to stream, or throws
 * the 400 / 416 that says what is wrong: the body against the schema, then
 * the model and whether it takes pitch, the range, and (once the engine is
 * ready) the language and voice. The format comes from the body, else
 * `Accept`, else the model's default. The stream's ETag comes from all of
 * that and the engine's build; an `If-Range` that is not that ETag drops the
 * Range (the whole stream is sent).
 *
 * ```ts
 * const plan = await planStream({ body, accept: c.req.header('accept'), range: c.req.header('range') }, schema, engines);
 * ```
 */
export async function planStream(request: StreamRequest, schema: ReturnType<typeof ttsRequestSchema>, engines: EngineHost): Promise<StreamPlan> {
  const parsed = parseTtsRequest(schema, request.body);
  if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.message);
  const tts = parsed.value;

  const model = findModel(tts.model ?? DEFAULT_MODEL);
  if (!model) throw new ApiError(400, 'unknown-model', `Unknown model "${tts.model}"; models: ${MODELS.map((m) => m.id).join(', ')} (and other aura-* names)`);
  if (tts.pitch !== undefined && !model.pitch) {
    throw new ApiError(400, 'pitch-not-supported', `pitch is not available on ${model.id}'s streaming path (provider streaming); leave pitch out, or use rapid-flash, which applies both speed and pitch`);
  }

  let range = parseRange(request.range);
  // No Content-Range: the stream's length is not known before it is made.
  if (range === 'invalid' && request.ifRange === undefined) throw new ApiError(416, 'range-not-satisfiable', 'Only one "bytes=N-" (or "bytes=N-M") range is served');

  const ready = await engines.ready();
  const languages = [...new Set(ready.voices.map((voice) => voice.language))];
  const language = languages.find((l) => l.toLowerCase() === tts.language.toLowerCase());
  if (!language) throw new ApiError(400, 'unknown-language', `Unknown language "${tts.language}"; languages: ${languages.join(', ')}`);
  const voice = findVoice(ready.catalog, ready.voices, tts.voice, language);
  if (!voice) {
    const names = ready.catalog.filter((p) => p.language === language).map((p) => p.name);
    throw new ApiError(400, 'unknown-voice', `Unknown voice "${tts.voice}" for ${language}; voices: ${names.join(', ')}`);
  }
  const format = tts.format ?? formatFromAccept(request.accept) ?? model.defaultFormat;
  const audio: AudioRequest = { path: model.path, text: tts.text, voice, language, speed: tts.speed, pitch: tts.pitch, format };
  const tag = streamTag({ model, audio }, ready.engine);
  if (range !== undefined && !rangeHolds(request.ifRange, tag)) range = undefined;
  if (range === 'invalid') throw new ApiError(416, 'range-not-satisfiable', 'Only one "bytes=N-" (or "bytes=N-M") range is served');
  return { model, range, ready, tag, audio };
}
