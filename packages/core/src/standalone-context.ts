import type { RunEvent } from './events.js';
import type { Milestone } from './metrics.js';
import type { StageContext } from './stage.js';

/** A StageContext for running a stage outside a pipeline, and the handle that ends it. */
export interface StandaloneContext extends StageContext {
  /** Runs the stage's cleanups (timers, decoders), once. */
  finish(): void;
}

/**
 * Makes a context for a stage run by hand, outside a pipeline (inside an rx
 * operator, or a server piping a response body through stages): events go to
 * `onEvent` when given, cleanups run at `finish()`.
 *
 * ```ts
 * const ctx = standaloneContext('resample', controller.signal);
 * const body = source.pipeThrough(resample({ rate: 24000 }).create(ctx, format)); // … ctx.finish() at the end
 * ```
 */
export function standaloneContext(stage: string, signal: AbortSignal, onEvent?: (event: RunEvent) => void): StandaloneContext {
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const marked = new Set<Milestone>();
  const cleanups: Array<() => void> = [];
  let declared: StageContext['declared'];
  let finished = false;
  const emit: StageContext['emit'] = (type, detail) => onEvent?.({ type, t: now(), stage, detail } as RunEvent);
  return {
    signal,
    stage,
    now,
    emit,
    mark(milestone, detail) {
      if (marked.has(milestone)) return false;
      marked.add(milestone);
      emit(milestone, (detail ?? {}) as never);
      return true;
    },
    count() {},
    declare(format) {
      declared = format;
    },
    get declared() {
      return declared;
    },
    defer(cleanup) {
      if (finished) cleanup();
      else cleanups.push(cleanup);
    },
    finish() {
      if (finished) return;
      finished = true;
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          cleanup();
        } catch {
          // a cleanup that fails must not stop the others
        }
      }
    },
  };
}
