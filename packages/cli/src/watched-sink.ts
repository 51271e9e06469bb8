import type { SinkHandle, SinkStage } from '@voxpipe/core';

/**
 * A sink whose result can be read however its run ended — a run hands the
 * result over only when it completes, but a file sink's figures (what is on
 * disk) matter most when it was interrupted or failed.
 *
 * ```ts
 * const out = watchedSink(wavFile('hi.wav'));
 * await pipeline(tone(), out.sink).done.catch(() => {}); out.result()?.dataBytes;
 * ```
 */
export function watchedSink<I, R>(sink: SinkStage<I, R>): { sink: SinkStage<I, R>; result(): R | undefined } {
  let handle: SinkHandle<I, R> | undefined;
  return {
    sink: {
      ...sink,
      open(ctx, input) {
        handle = sink.open(ctx, input);
        return handle;
      },
    },
    result: () => handle?.result(),
  };
}
