import type { Format } from '../format.js';
import type { SourceStage } from '../stage.js';
import { ReadableStream } from '../streams.js';

/** An endless source, and what happened to it. */
export interface EndlessSource<T> extends SourceStage<T> {
  /** Pulls so far (each gave one chunk). */
  readonly pulls: number;
  /** Whether its stream was cancelled. */
  readonly cancelled: boolean;
}

/**
 * A source that never ends by itself: each pull gives `chunk()`, and
 * `onPull(n)` hears the n-th pull first — the place to abort a run, stop a
 * player or fade out at an exact point of the stream. One chunk a pull
 * (high-water mark 0), so `pulls` says how far the run asked.
 *
 * ```ts
 * const source = endlessSource(format, () => pcm, (n) => n === 10 && run.abort());
 * const run = pipeline(source, gain(), collect()); // source.pulls === 10 once done
 * ```
 */
export function endlessSource<T>(format: Format, chunk: () => T, onPull?: (pull: number) => void): EndlessSource<T> {
  let pulls = 0;
  let cancelled = false;
  return {
    role: 'source',
    name: 'endless',
    gives: format,
    get pulls() {
      return pulls;
    },
    get cancelled() {
      return cancelled;
    },
    open: () =>
      new ReadableStream<T>(
        {
          pull(controller) {
            onPull?.(++pulls);
            controller.enqueue(chunk());
          },
          cancel() {
            cancelled = true;
          },
        },
        { highWaterMark: 0 },
      ),
  };
}
