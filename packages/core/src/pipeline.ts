import { VoxpipeError, isAbortError, toVoxpipeError } from './errors.js';
import { RunEvents, type Outcome } from './events.js';
import { chainFormats, composeSource, fusedTransformer, mismatchError, pipeStages, wantsFusion } from './compose.js';
import { loadedFusion, preloadFusion } from './load-fusion.js';
import { pump } from './pump.js';
import { formatMismatch, type Format } from './format.js';
import { createContext } from './context.js';
import { emptyMetrics, finishMetrics, type RunMetrics } from './metrics.js';
import { pcmDurationMs, type PcmChunk } from './pcm/pcm.js';
import type { AnyStage, Controllable, EndOutcome, SinkHandle, SinkStage, SourceStage, SourceWrapperStage, StageSink, StageSpec, TransformStage } from './stage.js';
import { TransformStream, WritableStream } from './streams.js';

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
  /**
   * This run's handle on one of its stages (`fade`'s `fadeOut()`, a player's
   * `stop()`), once the stage has started; undefined before, or for a stage
   * that gives none.
   */
  control<C>(stage: Controllable<C>): C | undefined;
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
type SourceParts = [SourceStage<any>, ...Array<SourceWrapperStage | TransformStage<any, any>>];

/**
 * Checks that the stages fit together (formats, order). Ending with a sink,
 * it returns a pipeline ready to run; without one, a source stage (the
 * source, its wrapper and transforms as one) to run in a pipeline, in
 * another stage, or on its own with `openSource`. Nothing flows until then.
 *
 * ```ts
 * const p = assemble(tone({ frequency: 440, ms: 500 }), gain({ db: -6 }), collect());
 * const speech = assemble(ttsSource(options), reconnect(), decode()); // a source of PCM
 * ```
 */
export function assemble<R>(...parts: Parts<R>): Pipeline<R>;
export function assemble<O = unknown>(...parts: SourceParts): SourceStage<O>;
export function assemble<R>(...parts: AnyStage[]): Pipeline<R> | SourceStage {
  const all = parts;
  if (all.length === 0) throw new VoxpipeError('format', 'assemble needs at least a source');
  const first = all[0];
  const last = all[all.length - 1];
  if (first.role !== 'source') throw new VoxpipeError('format', `A pipeline starts with a source, not "${first.name}" (${first.role})`, { stage: first.name });
  const middle = last.role === 'sink' ? all.slice(1, -1) : all.slice(1);

  let source: SourceStage = first;
  let index = 0;
  for (; index < middle.length && middle[index].role === 'source-wrapper'; index++) {
    const wrapper = middle[index] as SourceWrapperStage;
    if (source.gives.kind !== 'bytes') throw mismatchError({ name: wrapper.name, takes: { kind: 'bytes' } }, source.name, source.gives);
    source = wrapper.wrap(source as SourceStage<Uint8Array>) as SourceStage;
  }
  for (const stage of middle.slice(index)) {
    if (stage.role !== 'transform') {
      const where = stage.role === 'source-wrapper' ? 'directly after the source' : stage.role === 'source' ? 'first' : 'last';
      throw new VoxpipeError('format', `"${stage.name}" is a ${stage.role} and belongs ${where}`, { stage: stage.name });
    }
  }
  const transforms = middle.slice(index) as TransformStage[];
  if (last.role !== 'sink') return composeSource(source, transforms, all);

  const formats = chainFormats(source.name, source.gives, transforms);
  const sink = last as SinkStage<unknown, R>;
  const giver = transforms.length > 0 ? transforms[transforms.length - 1].name : source.name;
  if (formatMismatch(formats[formats.length - 1], sink.takes)) throw mismatchError(sink, giver, formats[formats.length - 1]);

  return {
    source,
    transforms,
    sink,
    formats,
    toSpec() {
      return {
        stages: all.map((stage) => {
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
  const metrics = emptyMetrics(Date.now());
  const controls = new Map<object, unknown>();
  let endedAs: EndOutcome | undefined;
  let settled = false;
  const scope = createContext({
    signal,
    metrics,
    onEvent: (event) => events.emit(event),
    onProvide: (stage, control) => controls.set(stage, control),
    onEnd(outcome, reason) {
      if (signal.aborted || settled) return;
      endedAs = outcome;
      controller.abort(new VoxpipeError('aborted', reason));
    },
  });

  const external = options.signal;
  const onExternalAbort = () => controller.abort(new VoxpipeError('aborted', 'The run was aborted by its signal', { cause: external?.reason }));
  if (external?.aborted) onExternalAbort();
  else external?.addEventListener('abort', onExternalAbort, { once: true });

  const done = (async (): Promise<RunResult<R>> => {
    await Promise.resolve(); // let the caller attach listeners first
    scope.emit('start', {});
    let outcome: Outcome = 'completed';
    let failure: VoxpipeError | undefined;
    let value: R | undefined;
    let handle: SinkHandle<unknown, R> | undefined;
    try {
      if (wantsFusion([source, ...transforms])) await preloadFusion();
      if (signal.aborted) throw signal.reason;
      const fusion = loadedFusion();
      // the synchronous stages just before the sink run inside its writes: no stream of their own
      const first = transforms.length - (fusion ? syncTail(transforms) : 0);
      let readable = pipeStages(source.open(scope.for(source.name, source)), formats, transforms.slice(0, first), scope);
      const tail = first < transforms.length ? fusedTransformer(formats.slice(first), transforms.slice(first), scope) : undefined;
      handle = sink.open(scope.for(sink.name, sink), formats[formats.length - 1]);
      let target = countingSink(handle.sink, formats[formats.length - 1], metrics);
      if (tail && handle.strategy?.size) readable = readable.pipeThrough(new TransformStream(tail), { signal }); // the sink measures its own chunks
      else if (tail) target = fusion!.sinkAfter(tail, target, transforms.slice(first).map((stage) => stage.name).join('+'));
      if (handle.strategy) await readable.pipeTo(new WritableStream(target, handle.strategy), { signal });
      else await pump(readable, target, signal);
      value = handle.result();
    } catch (error) {
      if ((endedAs === 'completed' || endedEarly(error)) && handle) {
        value = handle.result();
      } else if (signal.aborted && (isAbortError(error) || isAbortError(signal.reason))) {
        outcome = 'aborted';
      } else {
        outcome = 'error';
        failure = toVoxpipeError(error);
        if (!signal.aborted) controller.abort(failure);
      }
    } finally {
      settled = true;
      external?.removeEventListener('abort', onExternalAbort);
      scope.finish();
      finishMetrics(metrics, scope.now());
      if (failure) scope.emit('error', { error: failure });
      scope.emit('end', { outcome });
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
    control<C>(stage: Controllable<C>) {
      return controls.get(stage) as C | undefined;
    },
  };
}

/** Whether `error` is the synchronous stages before the sink ending their output early: the sink is closed, the run complete. */
function endedEarly(error: unknown): boolean {
  const fusion = loadedFusion();
  return fusion !== undefined && error instanceof fusion.OutputEnded;
}

/** How many stages at the end of `transforms` are synchronous (have a `syncTransformer`). */
function syncTail(transforms: readonly TransformStage[]): number {
  let count = 0;
  while (count < transforms.length && transforms[transforms.length - 1 - count].syncTransformer) count++;
  return count;
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
  return assemblePipeline(args as Parts<R>).run(options);
}

/** `assemble` for a whole pipeline: the last stage must be a sink. */
export function assemblePipeline<R>(parts: Parts<R>): Pipeline<R> {
  const stages = parts as AnyStage[];
  if (stages.length < 2) throw new VoxpipeError('format', 'A pipeline needs at least a source and a sink');
  const last = stages[stages.length - 1];
  if (last.role !== 'sink') throw new VoxpipeError('format', `A pipeline ends with a sink, not "${last.name}" (${last.role})`, { stage: last.name });
  return assemble(...parts);
}
