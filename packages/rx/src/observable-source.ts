import { ReadableStream, VoxpipeError, type Format, type SourceStage } from '@voxpipe/core';
import type { Observable } from 'rxjs';
import { toReadable, type ToReadableOptions } from './to-readable.js';

export interface ObservableSourceOptions<T> extends ToReadableOptions<T> {
  /** What the Observable gives: `{ kind: 'pcm', sampleRate: 24000, channels: 1 }`, `{ kind: 'text' }`, … */
  format: Format;
}

/**
 * A pipeline source from an Observable (or a function making one per run):
 * the way out of rxjs into a voxpipe sink. Buffering as in `toReadable`;
 * aborting the run unsubscribes.
 *
 * ```ts
 * const audio$ = texts$.pipe(bargeIn(sayWith(opts)), audioOnly());
 * await pipeline(observableSource(audio$, { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } }), wavFile('out.wav')).done;
 * ```
 */
export function observableSource<T>(observable: Observable<T> | (() => Observable<T>), options: ObservableSourceOptions<T>): SourceStage<T> {
  if (!options?.format?.kind) throw new VoxpipeError('bad-request', 'observableSource needs a format, e.g. { kind: "pcm" }', { stage: 'observableSource' });
  const { format, ...buffering } = options;
  return {
    role: 'source',
    name: 'observableSource',
    gives: format,
    open(ctx) {
      ctx.declare(format);
      const stream = toReadable(typeof observable === 'function' ? observable() : observable, buffering);
      ctx.onAbort((reason) => void stream.cancel(reason).catch(() => {}));
      if (format.kind !== 'pcm') return stream;
      // Tell the run when its first audio exists.
      const reader = stream.getReader();
      return new ReadableStream<T>(
        {
          async pull(controller) {
            const { done, value } = await reader.read();
            if (done) return controller.close();
            ctx.mark('first-audio');
            controller.enqueue(value);
          },
          cancel: (reason) => reader.cancel(reason),
        },
        { highWaterMark: 0 },
      );
    },
  };
}
