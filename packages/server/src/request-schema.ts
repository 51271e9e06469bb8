import { parseOptions } from '@voxpipe/core';
import * as v from 'valibot';

export interface RequestLimits {
  /** Longest text accepted, in characters. */
  maxTextChars: number;
}

export const SPEED_RANGE = { min: 0.5, max: 2 } as const;
export const PITCH_RANGE = { min: -12, max: 12 } as const;

/**
 * The body of POST /v1/tts/stream. Unknown fields are ignored (clients of the
 * hosted service send extras); every known field is checked.
 */
export function ttsRequestSchema(limits: RequestLimits) {
  return v.object({
    text: v.pipe(
      v.string('text must be a string'),
      v.check((t) => t.trim().length > 0, 'text is empty'),
      v.maxLength(limits.maxTextChars, `text is longer than ${limits.maxTextChars} characters`),
    ),
    voice: v.optional(v.pipe(v.string('voice must be a string'), v.nonEmpty('voice is empty')), 'Peter'),
    language: v.optional(v.pipe(v.string('language must be a string'), v.nonEmpty('language is empty')), 'en-US'),
    model: v.optional(v.pipe(v.string('model must be a string'), v.nonEmpty('model is empty'))),
    speed: v.optional(
      v.pipe(
        v.number('speed must be a number'),
        v.finite('speed must be a finite number'),
        v.minValue(SPEED_RANGE.min, `speed must be from ${SPEED_RANGE.min} to ${SPEED_RANGE.max}`),
        v.maxValue(SPEED_RANGE.max, `speed must be from ${SPEED_RANGE.min} to ${SPEED_RANGE.max}`),
      ),
    ),
    pitch: v.optional(
      v.pipe(
        v.number('pitch must be a number of semitones'),
        v.finite('pitch must be a finite number'),
        v.minValue(PITCH_RANGE.min, `pitch must be from ${PITCH_RANGE.min} to ${PITCH_RANGE.max} semitones`),
        v.maxValue(PITCH_RANGE.max, `pitch must be from ${PITCH_RANGE.min} to ${PITCH_RANGE.max} semitones`),
      ),
    ),
    // Case-insensitive, as model names are: "PCM" is pcm.
    format: v.optional(
      v.pipe(v.string('format must be one of pcm, mp3, wav, opus'), v.toLowerCase(), v.picklist(['pcm', 'mp3', 'wav', 'opus'], 'format must be one of pcm, mp3, wav, opus')),
    ),
  });
}

export type TtsRequest = v.InferOutput<ReturnType<typeof ttsRequestSchema>>;

const CODES: Record<string, string> = { text: 'invalid-text', speed: 'speed-out-of-range', pitch: 'pitch-out-of-range', format: 'unknown-format' };

/** Parses a request body, or gives the first problem in words, with a code to branch on. */
export function parseTtsRequest(
  schema: ReturnType<typeof ttsRequestSchema>,
  body: unknown,
): { ok: true; value: TtsRequest } | { ok: false; code: string; message: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, code: 'invalid-body', message: 'The body must be a JSON object' };
  const result = v.safeParse(schema, body);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = v.getDotPath(issue) ?? '';
  let code = CODES[path] ?? 'invalid-request';
  if (path === 'text') code = issue.type === 'max_length' ? 'text-too-long' : issue.type === 'check' ? 'empty-text' : 'invalid-text';
  if (issue.kind === 'schema' && issue.type === 'string' && path !== 'text' && (issue.input === undefined || issue.input === null)) code = 'invalid-request';
  if (path === 'text' && issue.input === undefined) return { ok: false, code: 'missing-text', message: 'text is required' };
  return { ok: false, code, message: issue.message };
}

/** A whole number from `min` to `max`, with a message that says so. */
const whole = (min: number, max: number, fallback: number) =>
  v.optional(v.pipe(v.number('must be a number'), v.integer(`must be a whole number from ${min} to ${max}`), v.minValue(min, `must be from ${min} to ${max}`), v.maxValue(max, `must be from ${min} to ${max}`)), fallback);

/** Server options, checked the same way. */
export const limitsSchema = v.object({
  maxTextChars: whole(1, 1_000_000, 5000),
  maxBodyBytes: whole(256, 64 * 1024 * 1024, 64 * 1024),
  /** Requests a key may make per second, on average (token bucket refill). */
  requestsPerSecond: v.optional(v.pipe(v.number('must be a number'), v.finite('must be a finite number'), v.minValue(0.001, 'must be at least 0.001')), 10),
  /** Requests a key may make at once after being idle (token bucket size). */
  burst: whole(1, 1e9, 20),
  /** Streams one key may have open at the same time. */
  concurrentStreamsPerKey: whole(1, 1e9, 16),
  /** Streams the whole server may have open at the same time. */
  maxConcurrentStreams: whole(1, 1e9, 256),
  /** A stream whose client reads nothing for this long (while audio waits for it) is ended and logged. */
  idleTimeoutMs: whole(100, 3_600_000, 30_000),
  /** A connection that has not sent its request's headers this long after it began one is answered 408 and closed (slow clients). */
  headersTimeoutMs: whole(100, 600_000, 20_000),
  /** A request body (read once the key is known) that has not all arrived this long after reading began is refused: 408 `request-timeout`. */
  bodyTimeoutMs: whole(100, 600_000, 20_000),
  /** Failed logins (401s) one client address may have within `authFailureWindowMs`; after them it gets 429 `too-many-auth-failures` for a window. */
  authFailures: whole(1, 1e9, 20),
  /** The window failed logins are counted in, and how long an address that used them up is refused. */
  authFailureWindowMs: whole(1000, 86_400_000, 60_000),
});

export type ServerLimits = v.InferOutput<typeof limitsSchema>;
export type ServerLimitsInput = v.InferInput<typeof limitsSchema>;

/**
 * The server's limits checked, defaults filled in; a bad one is a
 * `bad-request` VoxpipeError naming it (for a command line or a config
 * file to check before starting anything).
 *
 * ```ts
 * serverLimits({ burst: 5 }).maxBodyBytes // 65536
 * ```
 */
export function serverLimits(input: ServerLimitsInput | undefined): ServerLimits {
  return parseOptions('server limits', limitsSchema, input);
}
