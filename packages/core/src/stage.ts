import type { RunEventMap, RunEventType } from './events.js';
import type { Format } from './format.js';
import type { Milestone } from './metrics.js';
import type { WordTimestamps } from './pcm/word-timestamps.js';
import { TransformStream } from './streams.js';

/** A stage as data: its registry name and its options, JSON all the way down. */
export interface StageSpec {
  stage: string;
  options?: Record<string, unknown>;
}

/** What a stage gets from the run it is part of. One per stage per run. */
export interface StageContext {
  /** Aborted when the run is aborted or fails. */
  readonly signal: AbortSignal;
  /** The stage's own name, for errors and events. */
  readonly stage: string;
  /** Milliseconds since the run started. */
  now(): number;
  /** Reports an event as this stage. */
  emit<K extends RunEventType>(type: K, detail: RunEventMap[K]): void;
  /**
   * Records a milestone the first time it happens and emits its event (with
   * `detail` when given). Later calls do nothing; returns whether this call recorded it.
   */
  mark<M extends Milestone>(milestone: M, detail?: RunEventMap[M]): boolean;
  /** Adds to a counter in the run's metrics. */
  count(counter: Counter, amount?: number): void;
  /**
   * The format the source learned at run time (e.g. from Content-Type).
   * Sources call `declare`; decoders read `declared`.
   */
  declare(format: Format): void;
  readonly declared: Format | undefined;
  /**
   * The words the source learned at run time (a timestamped TTS stream),
   * timed from the start of its audio; the decoder puts them on their samples
   * as `PcmChunk.marks`. Shared like `declared`.
   */
  readonly words: WordTimestamps;
  /**
   * Calls `listener` each time a source declares a format from now on (a
   * decoder starts loading what the Content-Type names before the first
   * byte); the listener is removed when the run ends.
   */
  onDeclare(listener: (format: Format) => void): void;
  /** Runs `cleanup` once when the run ends, however it ends (completed, aborted, failed). */
  defer(cleanup: () => void): void;
  /** Calls `listener` once if the run is aborted (at once, in a microtask, if it already was); the listener is removed when the run ends. */
  onAbort(listener: (reason: unknown) => void): void;
  /**
   * Ends the run from inside: `'aborted'` (a player stopped by its user: the
   * run's `done` resolves `aborted`) or `'completed'` (a sink that has all it
   * wants: upstream is cancelled and `done` resolves with the sink's result).
   */
  end(outcome: EndOutcome, reason?: string): void;
  /** Makes `control` this run's handle on the stage: `run.control(stage)` returns it (fade out, stop with fade…). */
  provide(control: unknown, stage?: object): void;
}

/** The counters in a run's metrics that stages add to. */
export type Counter = 'bytes' | 'underruns' | 'reconnects' | 'retries';

/** How a stage can end its run (`ctx.end`). */
export type EndOutcome = 'completed' | 'aborted';

/**
 * A stage that gives each run a control of type `C` (`ctx.provide`), reached
 * with `run.control(stage)`. The property is never set; it only carries the type.
 */
export interface Controllable<C> {
  readonly __control?: C;
}

interface StageBase {
  /** Registry name, also used in errors and events. */
  readonly name: string;
  /** Set when the stage can be written back as data. */
  readonly spec?: StageSpec;
}

/** Where audio comes from. */
export interface SourceStage<O = unknown> extends StageBase {
  readonly role: 'source';
  readonly gives: Format;
  /** A fresh stream for one run. */
  open(ctx: StageContext): ReadableStream<O>;
}

/** Something in the middle: takes one kind of chunk, gives another. */
export interface TransformStage<I = unknown, O = unknown> extends StageBase {
  readonly role: 'transform';
  readonly takes: Format;
  /** The format it gives, for a given input format (known before anything flows). */
  gives(input: Format): Format;
  /** A fresh TransformStream (or any writable/readable pair) for one run. */
  create(ctx: StageContext, input: Format): TransformPair<I, O>;
  /**
   * Set by a stage whose work is synchronous: a fresh transformer for one
   * run (the same one `create` wraps in its TransformStream) whose `start`,
   * `transform` and `flush` return nothing and give their chunks through the
   * controller before they return. Consecutive stages that have one run
   * fused in one TransformStream (see `fuseTransformers`); a stage without it
   * gets a stream of its own.
   */
  readonly syncTransformer?: (ctx: StageContext, input: Format) => StageTransformer<I, O>;
  /**
   * What the synchronous transformer does with the sample arrays of each
   * chunk it takes: `'read'` — reads them within the call and neither keeps
   * them nor gives them on; `'passed'` — gives them on within the call
   * (the same arrays, in the same or a new chunk) and keeps none. Unset:
   * it may keep them. In a fused chain, a stage whose output goes only to
   * stages that read it may write its next chunk into the arrays it gave
   * (`givenBack`), instead of allocating per chunk.
   */
  readonly syncInput?: SyncInput;
}

/** What a synchronous stage does with its input's sample arrays (`TransformStage.syncInput`). */
export type SyncInput = 'read' | 'passed';

/** What a transform stage makes for one run: chunks go into `writable` and come out of `readable` (a TransformStream is one). */
export interface TransformPair<I, O> {
  readonly writable: WritableStream<I>;
  readonly readable: ReadableStream<O>;
}

/** A stage that wraps the source before it (e.g. `reconnect`). */
export interface SourceWrapperStage extends StageBase {
  readonly role: 'source-wrapper';
  wrap(source: SourceStage<Uint8Array>): SourceStage<Uint8Array>;
}

/**
 * Where a sink's chunks go: the underlying sink of a WritableStream. Declared
 * here (the same shape as the DOM's `UnderlyingSink`) so voxpipe's types need
 * only the stream globals that both the DOM and Node typings have.
 */
export interface StageSink<I> {
  start?(controller: WritableStreamDefaultController): void | PromiseLike<void>;
  write?(chunk: I, controller: WritableStreamDefaultController): void | PromiseLike<void>;
  close?(): void | PromiseLike<void>;
  abort?(reason?: unknown): void | PromiseLike<void>;
}

/** What a transform stage does to each chunk: the transformer of a TransformStream (the DOM's `Transformer`, declared here for the same reason as {@link StageSink}). */
export interface StageTransformer<I, O> {
  start?(controller: TransformStreamDefaultController<O>): void | PromiseLike<void>;
  transform?(chunk: I, controller: TransformStreamDefaultController<O>): void | PromiseLike<void>;
  flush?(controller: TransformStreamDefaultController<O>): void | PromiseLike<void>;
  cancel?(reason?: unknown): void | PromiseLike<void>;
}

/** What a sink opens for one run: where the chunks go, and what it gives back at the end. */
export interface SinkHandle<I, R> {
  sink: StageSink<I>;
  strategy?: QueuingStrategy<I>;
  /** The run's value, read after the last write (e.g. the collected audio). */
  result(): R;
}

/** Where audio ends up. */
export interface SinkStage<I = unknown, R = unknown> extends StageBase {
  readonly role: 'sink';
  readonly takes: Format;
  open(ctx: StageContext, input: Format): SinkHandle<I, R>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- stages of any chunk type fit in a list
export type AnyStage = SourceStage<any> | TransformStage<any, any> | SourceWrapperStage | SinkStage<any, any>;

/**
 * Makes a transform stage from a transformer factory; the factory runs once
 * per run, so state lives in its closure. With `synchronous: true` (every
 * call finishes its work before it returns and gives chunks only through the
 * controller) pipelines may run it fused with its synchronous neighbours.
 *
 * ```ts
 * const invert = transformStage({ name: 'invert', takes: anyPcm, gives: (f) => f,
 *   transformer: () => ({ transform(c, out) { out.enqueue({ ...c, channels: c.channels.map((x) => x.map((v) => -v)) }); } }) });
 * ```
 */
export function transformStage<I, O>(definition: {
  name: string;
  takes: Format;
  gives: (input: Format) => Format;
  transformer: (ctx: StageContext, input: Format) => StageTransformer<I, O>;
  writableStrategy?: QueuingStrategy<I>;
  readableStrategy?: QueuingStrategy<O>;
  spec?: StageSpec;
  /** Every transformer call is synchronous: no promise returned, no waiting (a fused chain holds no queue between stages, so this stage's strategies apply only when it runs alone). */
  synchronous?: boolean;
  /** With `synchronous`: what each call does with its input's sample arrays (see `TransformStage.syncInput`). */
  syncInput?: SyncInput;
}): TransformStage<I, O> {
  return {
    role: 'transform',
    name: definition.name,
    takes: definition.takes,
    gives: definition.gives,
    spec: definition.spec,
    create(ctx, input) {
      return new TransformStream<I, O>(definition.transformer(ctx, input), definition.writableStrategy, definition.readableStrategy);
    },
    ...(definition.synchronous ? { syncTransformer: definition.transformer, syncInput: definition.syncInput } : {}),
  };
}
