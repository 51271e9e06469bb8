import { VoxpipeError, isAbortError } from '../errors.js';
import { refineFormat, type Format } from '../format.js';
import { checkOptions, type OptionRules } from '../check-options.js';
import { boolean, fn, nonEmptyString, numberIn, oneOf, url } from '../check-options-rules.js';
import type { StageContext } from '../stage.js';
import { formatFromHeaders } from './format-from-headers.js';
import { ReadableStream } from '../streams.js';
import { errorFromResponse } from './http-error.js';
import type { ResumableSourceStage, ResumeRequest, ResumeResponse } from './resumable.js';

/** The fetch the client calls; pass your own to add proxies, logging or a test double. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What `ttsSource` is given. Checked without a schema library, so a browser player stays small. */
export interface TtsSourceOptions {
  /** The service's origin, e.g. `https://api.example.com` (`/v1/tts/stream` is added). */
  baseUrl: string;
  /** Sent as `X-API-Key`. */
  apiKey?: string;
  /** What to say (not empty). */
  text: string;
  voice?: string;
  /** BCP-47, e.g. `en-US`. */
  language?: string;
  /** e.g. `aura-lite`, `rapid-flash`. */
  model?: string;
  /** Speaking speed as a multiple of normal, 0.1 to 10. */
  speed?: number;
  /** Pitch shift (where the model supports it). */
  pitch?: number;
  /** What to ask the server for; the response's Content-Type has the last word. */
  format?: 'mp3' | 'pcm' | 'wav' | 'opus';
  /**
   * Ask for word timings too (`/v1/tts/stream/with-timestamps`, the same
   * body): the source still gives the audio bytes, and `decode()` puts each
   * word on its first sample as a `PcmChunk.marks` mark.
   */
  timestamps?: boolean;
  /** Not part of the spec: a fetch to call instead of the global one. */
  fetch?: FetchLike;
}

const rules: OptionRules<TtsSourceOptions> = {
  baseUrl: url,
  apiKey: nonEmptyString,
  text: nonEmptyString,
  voice: nonEmptyString,
  language: nonEmptyString,
  model: nonEmptyString,
  speed: numberIn(0.1, 10),
  pitch: numberIn(),
  format: oneOf(['mp3', 'pcm', 'wav', 'opus']),
  timestamps: boolean,
  fetch: fn,
};

const STREAM_PATH = '/v1/tts/stream';
const TIMESTAMPS_PATH = '/v1/tts/stream/with-timestamps';
const NDJSON = /^\s*application\/x-ndjson\s*(;|$)/i;

/** The format a `/v1/tts/stream` response has for a requested `format` (bytes of unknown container when none was asked for). */
export function expectedFormat(format: 'mp3' | 'pcm' | 'wav' | 'opus' | undefined): Format {
  if (format === 'mp3') return { kind: 'bytes', container: 'mp3' };
  if (format === 'opus') return { kind: 'bytes', container: 'opus' };
  if (format === 'pcm') return { kind: 'bytes', container: 'pcm', encoding: 's16le' };
  if (format === 'wav') return { kind: 'bytes', container: 'wav' };
  return { kind: 'bytes' };
}

/**
 * A source that streams speech from a `/v1/tts/stream` service: POSTs the
 * text with `X-API-Key`, declares the response's format (from Content-Type
 * and `X-Sample-Rate`) so `decode()` picks the decoder, and fails with a typed
 * error (`auth`, `rate-limit`, `bad-request`, `server`, `network`). Put
 * `reconnect()` after it to survive dropped connections.
 *
 * With `timestamps: true` it reads `/v1/tts/stream/with-timestamps`
 * (`application/x-ndjson`: lines of base64 audio and lines of words timed
 * from the start of the audio) and still gives only the audio bytes; the
 * words go to the run (`ctx.words`) and `decode()` puts each on its first
 * sample as a mark, so PCM after it carries `marks`. A resume asks for
 * `Range: bytes=N-` over the audio bytes, and the words repeated around N are
 * taken once. The audio's format comes from `X-Audio-Content-Type` (and
 * `X-Sample-Rate`), else from `format`, else from the bytes;
 * `X-Audio-Delay-Samples` (MP3's encoder and decoder delay) moves every mark
 * that many samples later, onto the word's sound in the decoded audio.
 *
 * ```ts
 * const run = pipeline(ttsSource({ baseUrl, apiKey, text: 'Hello', voice: 'Peter', model: 'aura-lite' }),
 *   reconnect(), decode(), collect());
 * ```
 */
export function ttsSource(options: TtsSourceOptions): ResumableSourceStage {
  const o = checkOptions('ttsSource', options, rules, { required: ['baseUrl', 'text'] });
  const url = `${o.baseUrl.replace(/\/+$/, '')}${o.timestamps ? TIMESTAMPS_PATH : STREAM_PATH}`;
  const doFetch: FetchLike = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const gives = expectedFormat(o.format);
  const { fetch: _fetch, ...specOptions } = o;
  const body = JSON.stringify({
    text: o.text,
    voice: o.voice,
    language: o.language,
    model: o.model,
    speed: o.speed,
    pitch: o.pitch,
    format: o.format,
  });

  /** One request: resolves with the response's body once the status says audio follows. */
  async function request(ctx: StageContext, { offset, validator, attempt, signal }: ResumeRequest): Promise<ResumeResponse> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (o.apiKey) headers['X-API-Key'] = o.apiKey;
    if (offset > 0) {
      headers.Range = `bytes=${offset}-`;
      // The range only of this stream: a server with another one now sends all of it (200) instead.
      if (validator) headers['If-Range'] = validator;
    }
    if (!ctx.mark('request', { url, attempt })) ctx.emit('request', { url, attempt });
    let response: Response;
    try {
      response = await doFetch(url, { method: 'POST', headers, body, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if (isAbortError(error)) throw error;
      throw new VoxpipeError('network', `Could not reach ${url}: ${describe(error)}`, { stage: ctx.stage, cause: error });
    }
    if (response.status === 416) return rangeNotSatisfiable(ctx, response, offset);
    if (!response.ok) {
      const error = await errorFromResponse(response, ctx.stage);
      ctx.emit('response', { status: response.status });
      throw error;
    }
    if (o.timestamps) return timestamped(ctx, response);
    const format = refineFormat(gives, formatFromHeaders(response.headers));
    ctx.declare(format);
    ctx.emit('response', { status: response.status, format });
    const etag = strongValidator(response.headers.get('etag'));
    if (response.status === 206) {
      // A live stream's end is unknown when its headers leave, so `bytes N-*/*` is read too.
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.start === undefined) {
        await response.body?.cancel().catch(() => {});
        throw new VoxpipeError('resume-mismatch', `The server answered a resume at byte ${offset} with 206 but no Content-Range that says where its bytes start`, { stage: ctx.stage, status: 206 });
      }
      return { status: 206, start: range.start, end: range.end, total: range.total, validator: etag, body: response.body };
    }
    return { status: response.status, start: 0, total: lengthOf(response.headers), validator: etag, body: response.body };
  }

  /** A with-timestamps response: its audio bytes as the body (the words go to `ctx.words`); Content-Range counts audio bytes. */
  async function timestamped(ctx: StageContext, response: Response): Promise<ResumeResponse> {
    const type = response.headers.get('content-type');
    if (!NDJSON.test(type ?? '')) {
      await response.body?.cancel().catch(() => {});
      throw new VoxpipeError('server', `${TIMESTAMPS_PATH} answered ${type ?? 'without a Content-Type'}, not application/x-ndjson`, { stage: ctx.stage, status: response.status, retryable: false });
    }
    const audio = new Headers();
    for (const [from, to] of [['x-audio-content-type', 'content-type'], ['x-sample-rate', 'x-sample-rate'], ['x-channels', 'x-channels']]) {
      const value = response.headers.get(from);
      if (value !== null) audio.set(to, value);
    }
    const format = refineFormat(gives, formatFromHeaders(audio));
    ctx.declare(format);
    ctx.emit('response', { status: response.status, format });
    // Samples a decoder gives before the audio the words are timed on (MP3's encoder and decoder delay).
    const delay = response.headers.get('x-audio-delay-samples')?.trim();
    if (delay && /^\d{1,7}$/.test(delay)) ctx.words.delay = Number(delay);
    // Imported when first needed: the word-timings wire (and the schema that checks it) stays out of a player that never asks for it.
    const { timestampedBody } = await import('./timestamped-body.js');
    const body = response.body && timestampedBody(response.body, ctx, { textLength: o.text.length, written: o.text });
    const etag = strongValidator(response.headers.get('etag'));
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.start === undefined) {
        await body?.cancel().catch(() => {});
        throw new VoxpipeError('resume-mismatch', `The server answered a resume with 206 but no Content-Range that says where its audio starts`, { stage: ctx.stage, status: 206 });
      }
      return { status: 206, start: range.start, end: range.end, total: range.total, validator: etag, body };
    }
    // Content-Length counts the lines, not the audio: the audio's length is unknown.
    return { status: response.status, start: 0, validator: etag, body };
  }

  return {
    role: 'source',
    name: 'ttsSource',
    gives,
    spec: { stage: 'ttsSource', options: JSON.parse(JSON.stringify(specOptions)) as Record<string, unknown> },
    resumable: { open: request },
    open(ctx) {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      let ended = false;
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (!reader) {
              const response = await request(ctx, { offset: 0, attempt: 1, signal: ctx.signal });
              if (!response.body) return controller.close();
              reader = response.body.getReader();
            }
            let result: ReadableStreamReadResult<Uint8Array>;
            try {
              result = await reader.read();
            } catch (error) {
              throw bodyError(ctx, error);
            }
            if (result.done) {
              ended = true;
              return controller.close();
            }
            if (result.value.byteLength === 0) return;
            ctx.mark('first-byte');
            ctx.count('bytes', result.value.byteLength);
            controller.enqueue(result.value);
          },
          async cancel(reason) {
            if (!ended) await reader?.cancel(reason).catch(() => {});
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}

/** The error for a response body that broke: the run's abort when it was aborted, else `network`. */
export function bodyError(ctx: StageContext, error: unknown, signal: AbortSignal = ctx.signal): unknown {
  if (signal.aborted) return signal.reason ?? error;
  if (error instanceof VoxpipeError) return error;
  return new VoxpipeError('network', `The connection dropped mid-stream: ${describe(error)}`, { stage: ctx.stage, cause: error });
}

async function rangeNotSatisfiable(ctx: StageContext, response: Response, offset: number): Promise<ResumeResponse> {
  await response.body?.cancel().catch(() => {});
  const range = parseContentRange(response.headers.get('content-range'));
  // The drop came after the last byte: there is nothing left to send (the caller checks the validator).
  if (range?.total === offset) return { status: 416, start: offset, total: offset, validator: strongValidator(response.headers.get('etag')), body: null };
  throw new VoxpipeError('bad-request', `The server cannot resume at byte ${offset} (HTTP 416)`, { stage: ctx.stage, status: 416 });
}

/**
 * `bytes 100-199/1000`, `bytes 100-199/*`, `bytes 100-*\/*` (live streams) or
 * `bytes *\/1000`; undefined when unreadable, or when the range ends before
 * it starts or at or past the total.
 */
export function parseContentRange(value: string | null | undefined): { start?: number; end?: number; total?: number } | undefined {
  const match = value?.trim().match(/^bytes\s+(?:(\d{1,15})-(\d{1,15}|\*)|\*)\s*\/\s*(\d{1,15}|\*)$/i);
  if (!match) return undefined;
  const start = match[1] === undefined ? undefined : Number(match[1]);
  const end = match[2] === undefined || match[2] === '*' ? undefined : Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (start !== undefined && end !== undefined && end < start) return undefined;
  if (end !== undefined && total !== undefined && end >= total) return undefined;
  return { start, end, total };
}

/** A strong `ETag` as sent (`"abc"`, quotes kept); undefined for none, a weak one (`W/"abc"`) or a malformed one. */
export function strongValidator(value: string | null | undefined): string | undefined {
  const tag = value?.trim();
  return tag && /^"[\x21\x23-\x7e\x80-\xff]*"$/.test(tag) ? tag : undefined;
}

/** A 200's length, from Content-Length; unknown when the body is content-encoded (the length is then of the encoded bytes). */
function lengthOf(headers: Headers): number | undefined {
  const encoding = headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') return undefined;
  const value = headers.get('content-length');
  return value && /^\d+$/.test(value) ? Number(value) : undefined;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}
