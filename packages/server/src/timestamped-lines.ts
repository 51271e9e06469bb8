import { ReadableStream } from '@voxpipe/core';
import type { PlacedWord, StreamWords } from './stream-words.js';

export interface TimestampedLinesOptions {
  /** The audio byte `audio` starts at (a range's first byte; 0 for the whole stream): words placed before it are not sent. */
  firstByte: number;
  /** Words placed at or after this byte are not sent (a range that stops before the stream's end). Default: all. */
  endByte?: number;
}

/**
 * The body of a with-timestamps response (`application/x-ndjson`): the audio
 * as `{"audio":"<base64>"}` lines, whose bytes joined are exactly `audio`,
 * and `{"words":[{"text","start","end","charStart","charEnd"}]}` lines, each
 * just before the audio line that starts on the byte its words are placed on
 * (an audio line is cut there), so a word's line never comes after the audio
 * holding its first sample. A client cut off after a words line and before
 * its audio resumes from the audio it has and gets those words again at the
 * start of the range. Audio past what `words` has settled waits for it (in
 * practice it never does: the engine's PCM passes the tap before it is encoded).
 *
 * ```ts
 * const body = timestampedLines(audioBody, words, { firstByte: range?.start ?? 0 });
 * ```
 */
export function timestampedLines(audio: ReadableStream<Uint8Array>, words: StreamWords, options: TimestampedLinesOptions): ReadableStream<Uint8Array> {
  const reader = audio.getReader();
  const { firstByte, endByte = Infinity } = options;
  /** The audio byte `held` starts at. */
  let position = firstByte;
  /** Audio read and not yet sent. */
  let held: Uint8Array | undefined;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          if (firstByte > 0) words.take(firstByte); // placed before the range: the client has them
          if (held) {
            const before = words.take(position + 1);
            const end = position + held.byteLength;
            const cut = Math.min(end, words.next, words.settled);
            const audioPart = cut > position ? audioLine(held.subarray(0, cut - position)) : undefined;
            if (audioPart) {
              held = cut < end ? held.subarray(cut - position) : undefined;
              position = cut;
            }
            if (before.length > 0) return controller.enqueue(audioPart ? Buffer.concat([wordsLine(before), audioPart]) : wordsLine(before));
            if (audioPart) return controller.enqueue(audioPart);
          }
          const { done, value } = await reader.read();
          if (!done) {
            held = held ? Buffer.concat([held, value]) : value;
            continue;
          }
          words.end();
          if (held) continue;
          const last = words.take(endByte);
          if (last.length > 0) controller.enqueue(wordsLine(last));
          return controller.close();
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

function wordsLine(words: readonly PlacedWord[]): Buffer {
  return Buffer.from(`${JSON.stringify({ words: words.map(({ text, start, end, charStart, charEnd }) => ({ text, start, end, charStart, charEnd })) })}\n`, 'utf8');
}

/** Base64 is ASCII: the line's bytes are its characters (latin1 copies them as they are). */
function audioLine(bytes: Uint8Array): Buffer {
  return Buffer.from(`{"audio":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}"}\n`, 'latin1');
}
