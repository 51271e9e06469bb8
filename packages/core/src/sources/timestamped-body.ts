import * as v from 'valibot';
import { VoxpipeError } from '../errors.js';
import type { TimedWord } from '../pcm/word-timestamps.js';
import type { StageContext } from '../stage.js';
import { ReadableStream } from '../streams.js';

/** The longest line a timestamped stream may send (a line of audio is a few KB of base64). */
const MAX_LINE = 4 * 1024 * 1024;

const seconds = v.pipe(v.number(), v.finite(), v.minValue(0));
const offset = v.pipe(v.number(), v.integer(), v.minValue(0));
const wordSchema = v.pipe(
  v.object({ text: v.string(), start: seconds, end: seconds, charStart: offset, charEnd: offset }),
  v.check((w) => w.end >= w.start, 'a word ends before it starts'),
  v.check((w) => w.charEnd >= w.charStart, 'a word\'s charEnd is before its charStart'),
);
const lineSchema = v.pipe(
  v.object({ audio: v.optional(v.string()), words: v.optional(v.array(wordSchema)) }),
  v.check((line) => line.audio !== undefined || line.words !== undefined, 'a line must hold "audio" or "words"'),
);

/**
 * Reads the body of a timestamped speech stream — `application/x-ndjson`,
 * lines `{"audio":"<base64>"}` and `{"words":[{"text","start","end","charStart","charEnd"}]}` —
 * and gives its audio bytes, as a plain stream's body would be; the words go
 * to the run (`ctx.words`), where the decoder puts them on their samples.
 * Each line is checked: one that is not JSON, not that shape, not base64, or
 * names characters outside the request's text (`textLength` UTF-16 units)
 * fails the stream with a `decode` error naming the line; a body that ends
 * inside a line is a dropped connection (`network`, so `reconnect` resumes).
 *
 * ```ts
 * const audio = timestampedBody(response.body, ctx, { textLength: text.length, written: text });
 * ```
 */
export function timestampedBody(
  body: ReadableStream<Uint8Array>,
  ctx: StageContext,
  { textLength, written }: { textLength: number; written?: string },
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let line = 0;
  let ended = false;
  const fail = (message: string, cause?: unknown) =>
    new VoxpipeError('decode', `Line ${line} of the timestamped stream ${message}`, { stage: ctx.stage, cause, retryable: false });

  /** The audio of one line (empty for a words line); publishes its words. */
  const readLine = (text: string): Uint8Array => {
    line++;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw fail(`is not JSON: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`, error);
    }
    const parsed = v.safeParse(lineSchema, json);
    if (!parsed.success) throw fail(`is not {"audio"} or {"words"}: ${parsed.issues.map((issue) => issue.message).join('; ')}`);
    const { audio, words } = parsed.output;
    if (words) {
      for (const word of words) {
        if (word.charEnd > textLength) throw fail(`names characters ${word.charStart}–${word.charEnd} of a ${textLength}-character text`);
      }
      ctx.words.add(written === undefined ? words : words.map((word): TimedWord => ({ ...word, written })));
    }
    return audio ? fromBase64(audio, fail) : new Uint8Array(0);
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const newline = pending.indexOf('\n');
          if (newline >= 0) {
            const text = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (text === '') continue;
            const audio = readLine(text);
            if (audio.byteLength > 0) return controller.enqueue(audio);
            continue;
          }
          if (pending.length > MAX_LINE) throw fail(`is longer than ${MAX_LINE} characters`);
          const { done, value } = await reader.read();
          if (done) {
            ended = true;
            let rest: string;
            try {
              rest = pending + decoder.decode();
            } catch (error) {
              throw new VoxpipeError('network', 'The timestamped stream ended inside a character', { stage: ctx.stage, cause: error });
            }
            pending = '';
            if (rest.trim() === '') return controller.close();
            // A last line without its newline is whole only if it parses.
            let audio: Uint8Array;
            try {
              audio = readLine(rest.trim());
            } catch (error) {
              throw new VoxpipeError('network', 'The timestamped stream ended inside a line', { stage: ctx.stage, cause: error });
            }
            if (audio.byteLength > 0) controller.enqueue(audio);
            return controller.close();
          }
          try {
            pending += decoder.decode(value, { stream: true });
          } catch (error) {
            throw fail('is not UTF-8', error);
          }
        }
      },
      async cancel(reason) {
        if (!ended) await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** Base64 (standard alphabet, padding optional) to bytes, with `atob` (in every runtime voxpipe runs in). */
function fromBase64(text: string, fail: (message: string, cause?: unknown) => VoxpipeError): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw fail('has "audio" that is not base64');
  let binary: string;
  try {
    binary = atob(text);
  } catch (error) {
    throw fail('has "audio" that is not base64', error);
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
