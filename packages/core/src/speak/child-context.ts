import type { StageContext } from '../stage.js';
import type { Format } from '../format.js';

/** A context for a stage run inside another stage (one sentence's request and decoder), with its own signal and cleanups. */
export interface ChildContext {
  /** The context to give the inner stage called `stage`. */
  for(stage: string): StageContext;
  /** Runs the inner stages' cleanups, once. */
  finish(): void;
}

/**
 * Makes contexts for stages that `parent` runs by itself: events, milestones
 * and counters go to the parent's run (so the run's first byte is the first
 * sentence's), while the signal, the declared format and the cleanups are the
 * inner run's own.
 */
export function childContext(parent: StageContext, signal: AbortSignal): ChildContext {
  const cleanups: Array<() => void> = [];
  let declared: Format | undefined;
  let finished = false;
  return {
    for(stage) {
      return {
        signal,
        stage,
        now: () => parent.now(),
        emit: (type, detail) => parent.emit(type, detail),
        mark: (milestone, detail) => parent.mark(milestone, detail),
        count: (counter, amount) => parent.count(counter, amount),
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
      };
    },
    finish() {
      if (finished) return;
      finished = true;
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          cleanup();
        } catch (error) {
          parent.emit('warning', { code: 'cleanup', message: error instanceof Error ? error.message : String(error) });
        }
      }
    },
  };
}
