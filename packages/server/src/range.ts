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

/** What the start of a ranged body turned out to be. */
export type RangedStart<T> =
  | { kind: 'ok'; first: Uint8Array | undefined; reader: ReadableStreamDefaultReader<Uint8Array>; total?: undefined }
  | { kind: 'past-end'; total: number };

/**
 * Reads and drops bytes until `start`, returning the first piece at or after
 * it (sliced) and the reader to go on with — or, when the stream ends
 * before `start`, its total length (for a 416 with `bytes *\/total`).
 */
export async function skipTo(reader: ReadableStreamDefaultReader<Uint8Array>, start: number): Promise<RangedStart<Uint8Array>> {
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      if (offset > start || (offset === start && start === 0)) return { kind: 'ok', first: undefined, reader };
      return { kind: 'past-end', total: offset };
    }
    const next = offset + value.byteLength;
    if (next > start) return { kind: 'ok', first: value.subarray(Math.max(0, start - offset)), reader };
    offset = next;
  }
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
