import { VoxpipeError, isAbortError, toVoxpipeError } from './errors.js';
import { RunEvents, type Outcome, type RunEventMap, type RunEventType } from './events.js';
import { describeFormat, formatMismatch, type Format } from './format.js';
import { MILESTONE_FIELD, emptyMetrics, finishMetrics, type Milestone, type RunMetrics } from './metrics.js';
import { pcmDurationMs, type PcmChunk } from './pcm.js';
import type { AnyStage, SinkStage, SourceStage, StageContext, StageSink, StageSpec, TransformStage } from './stage.js';
import { WritableStream } from './streams.js';

/** What a run can be given. */
export interface RunOptions {
  /** Aborting it aborts the run. */
  signal?: AbortSignal;
}

/** How a run ended, with the sink's value when it completed. */
export interface RunResult<R> {
  outcome: Exclude<Outcome, 'error'>;
  /** The sink's result (e.g. the collected audio); undefined when aborted. */
  value: R | undefined;
  metrics: RunMetrics;
}

/** A running pipeline. */
export interface Run<R> {
  readonly events: RunEvents;
  /** Live telemetry; final once `done` settles. */
  readonly metrics: RunMetrics;
  /** Aborted when the run is aborted or fails. */
  readonly signal: AbortSignal;
  /** Resolves when the sink has taken the last chunk (or the run was aborted); rejects with a VoxpipeError when it failed. */
  readonly done: Promise<RunResult<R>>;
  /** Stops everything: the request, the stages, their timers and decoders. `done` resolves with outcome `aborted`. */
  abort(reason?: string): void;
}

/** A pipeline as data: its stages, source first and sink last. */
export interface PipelineSpec {
  stages: StageSpec[];
}

/** An assembled, checked pipeline that can be run (more than once, if its source allows). */
export interface Pipeline<R> {
  readonly source: SourceStage;
  readonly transforms: readonly TransformStage[];
  readonly sink: SinkStage<unknown, R>;
  /** The format between each pair of stages: formats[0] leaves the source, the last enters the sink. */
  readonly formats: readonly Format[];
  /** The pipeline as JSON-ready data; throws if a stage was built from code that has no spec. */
  toSpec(): PipelineSpec;
  run(options?: RunOptions): Run<R>;
}

type Parts<R> = [...AnyStage[], SinkStage<any, R>];

function mismatchError(taker: { name: string; takes: Format }, giverName: string, given: Format): VoxpipeError {
  return new VoxpipeError(
    'format',
    `"${taker.name}" takes ${describeFormat(taker.takes)} but "${giverName}" gives ${describeFormat(given)}`,
    { stage: taker.name },
  );
}

/**
 * Checks that the stages fit together (formats, order) and returns a
 * pipeline ready to run. Nothing flows until `run()`.
 *
 * ```ts
 * const p = assemble(tone({ frequency: 440, ms: 500 }), gain({ db: -6 }), collect());
 * const { value } = await p.run().done;
 * ```
 */
export function assemble<R>(...parts: Parts<R>): Pipeline<R> {
  const all = parts as AnyStage[];
  const order: AnyStage[] = [...all];
  if (all.length < 2) throw new VoxpipeError('format', 'A pipeline needs at least a source and a sink');
  const first = all[0];
  const last = all[all.length - 1];
  if (first.role !== 'source') throw new VoxpipeError('format', `A pipeline starts with a source, not "${first.name}" (${first.role})`, { stage: first.name });
  if (last.role !== 'sink') throw new VoxpipeError('format', `A pipeline ends with a sink, not "${last.name}" (${last.role})`, { stage: last.name });

  let source: SourceStage = first;
  let index = 1;
  for (; index < all.length - 1 && all[index].role === 'source-wrapper'; index++) {
    const wrapper = all[index] as Extract<AnyStage, { role: 'source-wrapper' }>;
    if (source.gives.kind !== 'bytes') throw mismatchError({ name: wrapper.name, takes: { kind: 'bytes' } }, source.name, source.gives);
    source = wrapper.wrap(source as SourceStage<Uint8Array>) as SourceStage;
  }

  const transforms: TransformStage[] = [];
  const formats: Format[] = [source.gives];
  let current = source.gives;
  let giver = source.name;
  for (; index < all.length - 1; index++) {
    const stage = all[index];
    if (stage.role !== 'transform') {
      const where = stage.role === 'source-wrapper' ? 'directly after the source' : stage.role === 'source' ? 'first' : 'last';
      throw new VoxpipeError('format', `"${stage.name}" is a ${stage.role} and belongs ${where}`, { stage: stage.name });
    }
    if (formatMismatch(current, stage.takes)) throw mismatchError(stage, giver, current);
    current = stage.gives(current);
    formats.push(current);
    transforms.push(stage);
    giver = stage.name;
  }
  const sink = last as SinkStage<unknown, R>;
  if (formatMismatch(current, sink.takes)) throw mismatchError(sink, giver, current);

  return {
    source,
    transforms,
    sink,
    formats,
    toSpec() {
      return {
        stages: order.map((stage) => {
          if (!stage.spec) throw new VoxpipeError('format', `"${stage.name}" was built from code and has no spec to write`, { stage: stage.name });
          return stage.spec;
        }),
      };
    },
    run(options = {}) {
      return startRun(source, transforms, sink, formats, options);
    },
  };
}

function startRun<R>(
  source: SourceStage,
  transforms: readonly TransformStage[],
  sink: SinkStage<unknown, R>,
  formats: readonly Format[],
  options: RunOptions,
): Run<R> {
  const controller = new AbortController();
  const signal = controller.signal;
  const events = new RunEvents();
  const origin = performance.now();
  const metrics = emptyMetrics(Date.now());
  const cleanups: Array<() => void> = [];
  let declared: Format | undefined;
  const now = () => performance.now() - origin;

  const emit = <K extends RunEventType>(type: K, detail: RunEventMap[K], stage?: string) => {
    events.emit({ type, t: now(), stage, detail });
  };
  const contextFor = (stage: string): StageContext => ({
    signal,
    stage,
    now,
    emit: (type, detail) => emit(type, detail, stage),
    mark<M extends Milestone>(milestone: M, detail?: RunEventMap[M]) {
      const field = MILESTONE_FIELD[milestone];
      if (metrics[field] !== undefined) return false;
      (metrics as unknown as Record<string, number>)[field] = now();
      emit(milestone, detail ?? ((milestone === 'first-audible' ? { db: NaN } : {}) as RunEventMap[M]), stage);
      return true;
    },
    count(counter, amount = 1) {
      metrics[counter] += amount;
    },
    declare(format) {
      declared = format;
    },
    get declared() {
      return declared;
    },
    defer(cleanup) {
      if (finished) runCleanup(cleanup);
      else cleanups.push(cleanup);
    },
  });

  let finished = false;
  const runCleanup = (cleanup: () => void) => {
    try {
      cleanup();
    } catch (error) {
      emit('warning', { code: 'cleanup', message: error instanceof Error ? error.message : String(error) });
    }
  };

  const external = options.signal;
  const onExternalAbort = () => controller.abort(new VoxpipeError('aborted', 'The run was aborted by its signal', { cause: external?.reason }));
  if (external?.aborted) onExternalAbort();
  else external?.addEventListener('abort', onExternalAbort, { once: true });

  const done = (async (): Promise<RunResult<R>> => {
    await Promise.resolve(); // let the caller attach listeners first
    emit('start', {});
    let outcome: Outcome = 'completed';
    let failure: VoxpipeError | undefined;
    let value: R | undefined;
    try {
      if (signal.aborted) throw signal.reason;
      let readable = source.open(contextFor(source.name)) as ReadableStream<unknown>;
      transforms.forEach((stage, i) => {
        readable = readable.pipeThrough(stage.create(contextFor(stage.name), formats[i]), { signal });
      });
      const handle = sink.open(contextFor(sink.name), formats[formats.length - 1]);
      await readable.pipeTo(new WritableStream(countingSink(handle.sink, formats[formats.length - 1], metrics), handle.strategy), { signal });
      value = handle.result();
    } catch (error) {
      if (signal.aborted && (isAbortError(error) || isAbortError(signal.reason))) {
        outcome = 'aborted';
      } else {
        outcome = 'error';
        failure = toVoxpipeError(error);
        if (!signal.aborted) controller.abort(failure);
      }
    } finally {
      finished = true;
      external?.removeEventListener('abort', onExternalAbort);
      for (const cleanup of cleanups.splice(0).reverse()) runCleanup(cleanup);
      finishMetrics(metrics, now());
      if (failure) emit('error', { error: failure });
      emit('end', { outcome });
    }
    if (failure) throw failure;
    return { outcome: outcome as Exclude<Outcome, 'error'>, value, metrics };
  })();
  done.catch(() => {}); // failures are also reported as events; awaiting `done` still throws

  return {
    events,
    metrics,
    signal,
    done,
    abort(reason = 'The run was aborted') {
      if (!signal.aborted) controller.abort(new VoxpipeError('aborted', reason));
    },
  };
}

/** Wraps a sink so the run counts the audio that reaches it; one function call per chunk, no extra stream. */
function countingSink<I>(sink: StageSink<I>, format: Format, metrics: RunMetrics): StageSink<I> {
  const duration = audioDuration(format);
  if (!duration) return sink;
  const write = sink.write;
  return {
    start: sink.start?.bind(sink),
    close: sink.close?.bind(sink),
    abort: sink.abort?.bind(sink),
    write(chunk, controller) {
      metrics.audioMs += duration(chunk);
      return write?.call(sink, chunk, controller);
    },
  };
}

/** How to measure a chunk's audio time in this format: PCM, or raw PCM bytes of a known layout. */
function audioDuration(format: Format): ((chunk: unknown) => number) | undefined {
  if (format.kind === 'pcm') return (chunk) => pcmDurationMs(chunk as PcmChunk);
  const { container, encoding, sampleRate, channels } = format;
  if (format.kind !== 'bytes' || container !== 'pcm' || !encoding || !sampleRate || !channels) return undefined;
  const bytesPerMs = ((encoding === 'f32le' ? 4 : 2) * channels * sampleRate) / 1000;
  return (chunk) => (chunk as Uint8Array).byteLength / bytesPerMs;
}

/**
 * Assembles the stages and starts the run at once. A first argument of
 * `{ signal }` ties the run to an AbortSignal.
 *
 * ```ts
 * const run = pipeline(tone({ frequency: 440, ms: 500 }), prebuffer({ chunks: 3 }), collect());
 * const { value } = await run.done;
 * ```
 */
export function pipeline<R>(...parts: Parts<R>): Run<R>;
export function pipeline<R>(options: RunOptions, ...parts: Parts<R>): Run<R>;
export function pipeline<R>(...args: unknown[]): Run<R> {
  const first = args[0] as { role?: unknown } | undefined;
  const options = first && typeof first === 'object' && !('role' in first) ? (args.shift() as RunOptions) : {};
  return assemble(...(args as Parts<R>)).run(options);
}
