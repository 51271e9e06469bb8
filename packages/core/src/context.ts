import type { RunEvent, RunEventMap, RunEventType } from './events.js';
import type { Format } from './format.js';
import { emptyMetrics, MILESTONE_FIELD, type Milestone, type RunMetrics } from './metrics.js';
import { WordTimestamps } from './pcm/word-timestamps.js';
import type { Counter, EndOutcome, StageContext } from './stage.js';

/** What a context scope is made from. A scope with a `parent` runs inside that stage; one without is a root. */
export interface ContextOptions {
  /** The scope's signal: aborted when its run (or inner run) is aborted or fails. */
  signal: AbortSignal;
  /** The stage this scope runs inside: its events, milestones, counters and clock are the parent's. */
  parent?: StageContext;
  /** A root's events (a child's go to its parent). */
  onEvent?: (event: RunEvent) => void;
  /** Where a root records milestones and counters. Default: a fresh record. */
  metrics?: RunMetrics;
  /** A format known before anything flows (a test's declared Content-Type). */
  declared?: Format;
  /** Share the parent's declared format and words instead of keeping the scope's own (a source re-opened by its wrapper, a composite's stages). */
  shareDeclared?: boolean;
  /** Milestones and counters a child keeps from its parent (a wrapper that counts bytes itself). */
  keep?: ReadonlyArray<Milestone | Counter>;
  /** What `ctx.end(outcome)` does. Default: a child passes it to its parent; a root without `onEnd` ignores it. */
  onEnd?: (outcome: EndOutcome, reason: string) => void;
  /** Where the scope's per-run controls go (`ctx.provide`), by the stage object they belong to. Default: a child passes them to its parent. */
  onProvide?: (stage: object, control: unknown) => void;
}

/** The contexts of one run (or inner run), and the end of their cleanups. */
export interface ContextScope {
  readonly signal: AbortSignal;
  /** What milestones and counters a root scope recorded. */
  readonly metrics: RunMetrics;
  /** Milliseconds since the scope (a root) or its parent's run started. */
  now(): number;
  /** Reports an event of the run itself, from no stage. */
  emit<K extends RunEventType>(type: K, detail: RunEventMap[K]): void;
  /** The context to give the stage called `stage`; `key` is the stage object, for `provide`. */
  for(stage: string, key?: object): StageContext;
  /** Cleanups registered with `defer` or `onAbort` and not yet run or removed. */
  pending(): number;
  /** Runs the cleanups once, the last registered first, and removes abort listeners; later `defer`s run at once. */
  finish(): void;
}

/**
 * The one way to make stage contexts: for a pipeline's run, for stages a
 * stage runs by itself (`speak`'s sentences, `reconnect`'s connections, the
 * server's audio), for a stage run by hand, and for tests. Cleanups and
 * abort listeners registered through a context end with the scope.
 *
 * ```ts
 * const scope = createContext({ signal: controller.signal, onEvent: console.log });
 * const out = input.pipeThrough(resample({ rate: 24000 }).create(scope.for('resample'), format)); // … scope.finish()
 * ```
 */
export function createContext(options: ContextOptions): ContextScope {
  const { signal, parent } = options;
  const origin = performance.now();
  const metrics = options.metrics ?? emptyMetrics(Date.now());
  const keep = new Set<string>(options.keep ?? []);
  const cleanups = new Set<() => void>();
  let declared = options.declared;
  let words: WordTimestamps | undefined;
  const declareListeners = new Set<(format: Format) => void>();
  let finished = false;

  const now = parent ? () => parent.now() : () => performance.now() - origin;
  const report = (message: string) => {
    const detail = { code: 'cleanup', message };
    if (parent) parent.emit('warning', detail);
    else options.onEvent?.({ type: 'warning', t: now(), detail });
  };
  const run = (cleanup: () => void) => {
    try {
      cleanup();
    } catch (error) {
      report(error instanceof Error ? error.message : String(error));
    }
  };
  const register = (cleanup: () => void): (() => void) => {
    if (finished) {
      run(cleanup);
      return () => {};
    }
    cleanups.add(cleanup);
    return () => cleanups.delete(cleanup);
  };

  const end =
    options.onEnd ??
    ((outcome: EndOutcome, reason: string) => {
      if (parent) parent.end(outcome, reason);
    });

  return {
    signal,
    metrics,
    now,
    emit(type, detail) {
      if (parent) parent.emit(type, detail);
      else options.onEvent?.({ type, t: now(), detail } as RunEvent);
    },
    for(stage, key) {
      const emit: StageContext['emit'] = parent
        ? (type, detail) => parent.emit(type, detail)
        : (type, detail) => options.onEvent?.({ type, t: now(), stage, detail } as RunEvent);
      return {
        signal,
        stage,
        now,
        emit,
        mark<M extends Milestone>(milestone: M, detail?: RunEventMap[M]) {
          if (keep.has(milestone)) return false;
          if (parent) return parent.mark(milestone, detail);
          const field = MILESTONE_FIELD[milestone];
          if (metrics[field] !== undefined) return false;
          (metrics as unknown as Record<string, number>)[field] = now();
          emit(milestone, detail ?? ((milestone === 'first-audible' ? { db: NaN } : {}) as RunEventMap[M]));
          return true;
        },
        count(counter, amount = 1) {
          if (keep.has(counter)) return;
          if (parent) parent.count(counter, amount);
          else metrics[counter] += amount;
        },
        declare(format) {
          if (options.shareDeclared && parent) return parent.declare(format);
          declared = format;
          for (const listener of [...declareListeners]) run(() => listener(format));
        },
        onDeclare(listener) {
          if (options.shareDeclared && parent) return parent.onDeclare(listener);
          declareListeners.add(listener);
          register(() => declareListeners.delete(listener));
        },
        get declared() {
          return options.shareDeclared && parent ? parent.declared : declared;
        },
        get words() {
          return options.shareDeclared && parent ? parent.words : (words ??= new WordTimestamps());
        },
        defer(cleanup) {
          register(cleanup);
        },
        onAbort(listener) {
          if (signal.aborted) {
            queueMicrotask(() => listener(signal.reason));
            return;
          }
          const onAbort = () => {
            remove();
            listener(signal.reason);
          };
          const remove = register(() => signal.removeEventListener('abort', onAbort));
          signal.addEventListener('abort', onAbort, { once: true });
        },
        end(outcome, reason = outcome === 'aborted' ? `"${stage}" stopped the run` : `"${stage}" ended the run`) {
          end(outcome, reason);
        },
        provide(control, owner = key) {
          if (!owner) return;
          if (options.onProvide) options.onProvide(owner, control);
          else parent?.provide(control, owner);
        },
      };
    },
    pending: () => cleanups.size,
    finish() {
      if (finished) return;
      finished = true;
      for (const cleanup of [...cleanups].reverse()) run(cleanup);
      cleanups.clear();
    },
  };
}
