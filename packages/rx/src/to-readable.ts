import { ReadableStream, VoxpipeError } from '@voxpipe/core';
import type { Observable, Subscription } from 'rxjs';

/** What to do when the Observable has pushed more than `limit` that nobody has read. */
export type OverflowPolicy = 'error' | 'drop-oldest' | 'drop-newest';

export interface ToReadableOptions<T> {
  /** Most that may wait unread, in `size` units (default 1024 chunks). */
  limit?: number;
  /** Each chunk's size (default 1: count chunks); `pcmDurationMs` makes `limit` read in milliseconds of audio. */
  size?: (chunk: T) => number;
  /** Past `limit`: fail the stream (default), drop the oldest waiting chunks, or drop the new one. */
  overflow?: OverflowPolicy;
  /** Told about each dropped chunk. */
  onDrop?: (chunk: T) => void;
}

/**
 * A ReadableStream of an Observable's values. The stream subscribes when it
 * is made and unsubscribes when it is cancelled. An Observable cannot be
 * paused, so backpressure cannot reach it: values the reader has not taken
 * yet wait in a buffer bounded by `limit`; past it the stream fails with a
 * clear error (the default) or drops values, as `overflow` says — never an
 * unbounded buffer. For audio, measure in milliseconds:
 * `{ size: pcmDurationMs, limit: 30_000 }`.
 *
 * ```ts
 * const stream = toReadable(audio$, { size: pcmDurationMs, limit: 10_000, overflow: 'drop-oldest' });
 * for await (const chunk of stream) sink(chunk);
 * ```
 */
export function toReadable<T>(observable: Observable<T>, options: ToReadableOptions<T> = {}): ReadableStream<T> {
  const limit = options.limit ?? 1024;
  const size = options.size ?? (() => 1);
  const overflow = options.overflow ?? 'error';
  if (!(limit > 0)) throw new VoxpipeError('bad-request', `toReadable: limit must be above 0, got ${limit}`);
  const buffer: Array<{ chunk: T; size: number }> = [];
  let buffered = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let subscription: Subscription | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const push = (chunk: T) => {
    if (ended || failure) return;
    const n = size(chunk);
    if (buffered + n > limit && buffer.length > 0) {
      if (overflow === 'drop-newest') return options.onDrop?.(chunk);
      if (overflow === 'error') {
        failure = {
          error: new VoxpipeError('internal', `toReadable: more than ${limit} waiting unread; the reader is slower than the Observable (raise limit, or set overflow: 'drop-oldest')`),
        };
        subscription?.unsubscribe();
        return notify();
      }
      while (buffer.length > 0 && buffered + n > limit) {
        const dropped = buffer.shift()!;
        buffered -= dropped.size;
        options.onDrop?.(dropped.chunk);
      }
    }
    buffer.push({ chunk, size: n });
    buffered += n;
    notify();
  };

  return new ReadableStream<T>(
    {
      start() {
        subscription = observable.subscribe({
          next: push,
          error: (error: unknown) => {
            failure ??= { error };
            notify();
          },
          complete: () => {
            ended = true;
            notify();
          },
        });
      },
      async pull(controller) {
        while (buffer.length === 0 && !failure && !ended) await new Promise<void>((resolve) => (wake = resolve));
        const next = buffer.shift();
        if (next) {
          buffered -= next.size;
          controller.enqueue(next.chunk);
        } else if (failure) {
          throw failure.error;
        } else {
          controller.close();
        }
      },
      cancel() {
        ended = true;
        buffer.length = 0;
        subscription?.unsubscribe();
        notify();
      },
    },
    { highWaterMark: 0 },
  );
}
