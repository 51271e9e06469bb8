import { ReadableStream } from '@voxpipe/core';

/** A byte range a request asked for: from `start`, to `end` inclusive when given. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Reads a `Range` header. Only one `bytes=N-` or `bytes=N-M` range is
 * served (the stream's length is unknown until it ends, so suffix ranges
 * cannot be); any other `bytes` range is `invalid` (→ 416). A range in a
 * unit other than bytes (`items=0-`) is ignored, as RFC 9110 asks: the
 * whole stream is sent.
 */
export function parseRange(header: string | null | undefined): ByteRange | 'invalid' | undefined {
  if (header == null) return undefined;
  if (!/^\s*bytes\s*=/i.test(header)) return undefined;
  const match = /^\s*bytes\s*=\s*(\d{1,15})\s*-\s*(\d{1,15})?\s*$/i.exec(header);
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = match[2] === undefined ? undefined : Number(match[2]);
  if (end !== undefined && end < start) return 'invalid';
  return { start, end };
}

/** How a body starts: the whole stream's first bytes, a range made to its end, or a range past the end. */
export type RangedStart<T> =
  | { kind: 'whole'; first: T | undefined; reader: ReadableStreamDefaultReader<T> }
  | {
      kind: 'range';
      first: undefined;
      /** Every byte of the range, already made. */
      reader: ReadableStreamDefaultReader<T>;
      firstByte: number;
      /** The last byte sent, inclusive. */
      lastByte: number;
      /** The stream's whole length, when the range reached its end. */
      total: number | undefined;
    }
  | { kind: 'past-end'; total: number };

/**
 * Waits for the stream's first bytes (so a failure before them is still an
 * error response), then hands back the reader to go on with.
 */
export async function firstBytes(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<RangedStart<Uint8Array>> {
  const { done, value } = await reader.read();
  return { kind: 'whole', first: done ? undefined : value, reader };
}

/**
 * Makes a range to its end: drops the bytes before `range.start`, keeps
 * those up to `range.end` (inclusive) or the stream's end, and stops the
 * stream there. When the stream ends before `range.start` it is past the
 * end (with the stream's total length, for a 416 `bytes *\/total`).
 */
export async function readRange(reader: ReadableStreamDefaultReader<Uint8Array>, range: ByteRange): Promise<RangedStart<Uint8Array>> {
  const kept: Uint8Array[] = [];
  const stopAt = range.end === undefined ? Infinity : range.end + 1;
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const from = Math.max(0, range.start - offset);
    const to = Math.min(value.byteLength, stopAt - offset);
    if (to > from) kept.push(value.subarray(from, to));
    offset += value.byteLength;
    if (offset >= stopAt) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  const reachedEnd = offset < stopAt;
  if (range.start >= offset && reachedEnd) return { kind: 'past-end', total: offset };
  const length = kept.reduce((n, part) => n + part.byteLength, 0);
  const made = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of kept) controller.enqueue(part);
      controller.close();
    },
  }).getReader();
  // A range that stopped exactly at the stream's last byte does not know it was the last: the total stays unknown.
  return { kind: 'range', first: undefined, reader: made, firstByte: range.start, lastByte: range.start + length - 1, total: reachedEnd ? offset : undefined };
}

/**
 * A body that gives `first`, then the rest of `reader`, stopping after
 * `limit` bytes when given; cancelling it cancels the reader.
 */
export function bodyFrom(first: Uint8Array | undefined, reader: ReadableStreamDefaultReader<Uint8Array>, limit?: number, onEnd?: () => void): ReadableStream<Uint8Array> {
  let left = limit ?? Infinity;
  let pending = first;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd?.();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // Loop until something is given: a pull that enqueues nothing is not called again.
          for (;;) {
            let chunk = pending;
            pending = undefined;
            if (!chunk) {
              const { done, value } = await reader.read();
              if (done) {
                end();
                return controller.close();
              }
              chunk = value;
            }
            if (chunk.byteLength >= left) {
              controller.enqueue(chunk.subarray(0, left));
              left = 0;
              await reader.cancel().catch(() => {});
              end();
              return controller.close();
            }
            left -= chunk.byteLength;
            if (chunk.byteLength > 0) return controller.enqueue(chunk);
          }
        } catch (error) {
          end();
          // A turn later: the HTTP layer cuts the connection at once, and would drop what it has just written but not
          // yet sent (Node corks a response's first write until the next tick), so the client would get nothing.
          await new Promise((resolve) => setTimeout(resolve, 0));
          throw error;
        }
      },
      async cancel(reason) {
        end();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
