import type { Engine } from '@voxpipe/core';
import { createHash } from 'node:crypto';
import { OPUS_ENCODER_BUILD } from './ogg-opus-encode.js';
import type { StreamPlan } from './stream-plan.js';

/**
 * The strong `ETag` of a planned stream: a SHA-256 (base64url, quoted) of
 * everything that makes its bytes — the model and its path, the engine voice,
 * the language, the text, speed, pitch and format — and the engine's
 * `build`. The same request gives the same tag on every server instance with
 * the same engine build; an engine without a build is not deterministic, so
 * its streams get no tag (undefined).
 *
 * ```ts
 * const tag = streamTag(plan, plan.ready.engine); // '"q3T…"' or undefined
 * ```
 */
export function streamTag(plan: Pick<StreamPlan, 'model' | 'audio'>, engine: Pick<Engine, 'name' | 'build'>): string | undefined {
  if (typeof engine.build !== 'string' || engine.build === '') return undefined;
  const { model, audio } = plan;
  // A fixed order, and null for what was left out, so equal requests always give the same text to digest.
  const normalized = JSON.stringify([
    'voxpipe-tts-stream/1',
    model.id,
    model.path,
    audio.voice,
    audio.language,
    audio.text,
    audio.speed ?? null,
    audio.pitch ?? null,
    audio.format,
    engine.name,
    engine.build,
    // Opus bytes also depend on the encoder build and the page layout (named only for opus: other formats' tags stay as they were).
    ...(audio.format === 'opus' ? [OPUS_ENCODER_BUILD] : []),
  ]);
  return `"${createHash('sha256').update(normalized, 'utf8').digest('base64url')}"`;
}

/**
 * Whether a request's `Range` is to be used (RFC 9110 §13.1.5): always
 * without `If-Range`; with it, only when it is the stream's strong tag. An
 * HTTP-date (there is no Last-Modified), a weak or another tag, or any
 * If-Range on a stream without a tag: the whole stream is sent instead.
 */
export function rangeHolds(ifRange: string | undefined, tag: string | undefined): boolean {
  if (ifRange === undefined) return true;
  return tag !== undefined && ifRange.trim() === tag;
}
