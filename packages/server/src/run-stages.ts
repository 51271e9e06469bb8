import { ReadableStream, standaloneContext, type Format, type StageContext, type StandaloneContext, type TransformStage } from '@voxpipe/core';

export interface RunStagesOptions {
  /** Aborting it stops every stage (and, through cancel, the source). */
  signal?: AbortSignal;
  /** Hears warnings the stages report. */
  onWarning?: (stage: string, detail: { code: string; message: string }) => void;
}

/**
 * Pipes a ReadableStream through voxpipe transform stages, giving each the
 * `StageContext` a run would (signal, defer, milestones) — the server's way
 * to use core stages on a response body without a sink. Cleanups run once
 * when the output ends, fails or is cancelled; cancelling the output cancels
 * the source (so an engine stops synthesizing).
 *
 * ```ts
 * const body = runStages(engine.synthesize(req), { kind: 'pcm', sampleRate: 22050, channels: 1 },
 *   [resample({ rate: 24000 }), pcmEncode()]);
 * ```
 */
export function runStages<O>(source: ReadableStream<unknown>, format: Format, stages: readonly TransformStage[], options: RunStagesOptions = {}): ReadableStream<O> {
  const controller = new AbortController();
  const signal = controller.signal;
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const contexts: StandaloneContext[] = [];
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    options.signal?.removeEventListener('abort', onOuterAbort);
    for (const context of contexts.reverse()) context.finish();
  };

  const contextFor = (stage: string): StageContext => {
    const context = standaloneContext(stage, signal, (event) => {
      if (event.type === 'warning') options.onWarning?.(stage, event.detail as { code: string; message: string });
    });
    contexts.push(context);
    return context;
  };

  let readable = source;
  let current = format;
  for (const stage of stages) {
    readable = readable.pipeThrough(stage.create(contextFor(stage.name), current), { signal });
    current = stage.gives(current);
  }
  const reader = readable.getReader();
  return new ReadableStream<O>(
    {
      async pull(out) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            finish();
            out.close();
          } else {
            out.enqueue(value as O);
          }
        } catch (error) {
          controller.abort(error);
          finish();
          throw error;
        }
      },
      async cancel(reason) {
        controller.abort(reason);
        finish();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
