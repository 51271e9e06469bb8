import { createContext } from './context.js';
import type { RunEvent } from './events.js';
import type { Controllable, SourceStage, StageContext } from './stage.js';
import { ReadableStream } from './streams.js';

/** Where a source opened on its own belongs. */
export interface OpenSourceOptions {
  /** Aborting it stops every stage (and, through cancel, the source). */
  signal?: AbortSignal;
  /** The stage this source runs inside: its events, milestones and counters go to that stage's run. */
  parent?: StageContext;
  /** Hears the stages' events (when there is no `parent`). */
  onEvent?: (event: RunEvent) => void;
}

/** A source's stream, opened outside a pipeline, and the controls its stages gave. */
export interface OpenedSource<O> {
  readonly readable: ReadableStream<O>;
  /** The per-run control a stage in it provided (`run.control` for a stream without a run). */
  control<C>(stage: Controllable<C>): C | undefined;
}

/**
 * Opens a source stage — usually `assemble(source, …transforms)` — on its
 * own, for code that wants a ReadableStream rather than a whole pipeline:
 * a server's response body, one utterance of a voice app, one sentence of
 * `speak`. Every stage gets its context; their cleanups run once, when the
 * stream ends, fails or is cancelled (aborting the signal makes it fail);
 * cancelling the stream cancels the source.
 *
 * ```ts
 * const { readable } = openSource(assemble(fromStream(engineAudio, pcm22k), resample({ rate: 24000 }), pcmEncode()), { signal });
 * return new Response(readable);
 * ```
 */
export function openSource<O>(source: SourceStage<O>, options: OpenSourceOptions = {}): OpenedSource<O> {
  const controller = new AbortController();
  const controls = new Map<object, unknown>();
  const scope = createContext({ signal: controller.signal, parent: options.parent, onEvent: options.onEvent, onProvide: (stage, control) => controls.set(stage, control) });
  const outer = options.signal;
  // Aborting stops the stages; their cleanups run when the stream then errors or is cancelled.
  const onOuterAbort = () => controller.abort(outer?.reason);
  const finish = () => {
    outer?.removeEventListener('abort', onOuterAbort);
    scope.finish();
  };
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  const reader = source.open(scope.for(source.name, source)).getReader();
  const readable = new ReadableStream<O>(
    {
      async pull(out) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            finish();
            out.close();
          } else {
            out.enqueue(value);
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
  return { readable, control: <C>(stage: Controllable<C>) => controls.get(stage) as C | undefined };
}
