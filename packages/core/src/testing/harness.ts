import { createContext } from '../context.js';
import { preloadFusion } from '../load-fusion.js';
import { VoxpipeError } from '../errors.js';
import type { RunEvent } from '../events.js';
import type { Format } from '../format.js';
import type { RunMetrics } from '../metrics.js';
import type { EndOutcome, StageContext, TransformStage } from '../stage.js';

/** A StageContext for driving one stage by hand, that records what the stage did. */
export interface TestContext extends StageContext {
  readonly controller: AbortController;
  readonly events: RunEvent[];
  readonly metrics: RunMetrics;
  /** Cleanups registered with `defer` (and abort listeners with `onAbort`) not yet run. */
  pendingCleanups(): number;
  /** Runs the registered cleanups, as a run does when it ends. */
  finish(): void;
  /** The control the stage gave this run with `ctx.provide` (what `run.control(stage)` would return). */
  control<C>(): C | undefined;
  /** How the stage ended the run with `ctx.end`, if it did (the context's signal is then aborted). */
  endedAs(): EndOutcome | undefined;
}

/**
 * Makes a context for testing a stage outside a pipeline.
 *
 * ```ts
 * const ctx = testContext('gain');
 * const out = await runTransform(gain({ db: -6 }), chunks, anyPcm, ctx);
 * ```
 */
export function testContext(stage = 'test', declared?: Format): TestContext {
  const controller = new AbortController();
  const events: RunEvent[] = [];
  let control: unknown;
  let ended: EndOutcome | undefined;
  const scope = createContext({
    signal: controller.signal,
    declared,
    onEvent: (event) => events.push(event),
    onProvide: (_stage, provided) => {
      control = provided;
    },
    onEnd: (outcome, reason) => {
      ended ??= outcome;
      controller.abort(new VoxpipeError('aborted', reason));
    },
  });
  return Object.assign(scope.for(stage, controller), {
    controller,
    events,
    metrics: scope.metrics,
    pendingCleanups: scope.pending,
    finish: scope.finish,
    control: <C>() => control as C | undefined,
    endedAs: () => ended,
  });
}

/** Feeds `input` through one run of `stage` and returns every chunk it gave, in order. */
export async function runTransform<I, O>(
  stage: TransformStage<I, O>,
  input: Iterable<I>,
  format: Format,
  ctx: TestContext = testContext(stage.name),
): Promise<O[]> {
  await preloadFusion(); // composites fuse as in a run
  const stream = stage.create(ctx, format);
  const out: O[] = [];
  const reading = (async () => {
    const reader = stream.readable.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out.push(value);
    }
  })();
  const writer = stream.writable.getWriter();
  try {
    for (const chunk of input) await writer.write(chunk);
    await writer.close();
    await reading;
  } catch (error) {
    await reading.catch(() => {});
    throw error;
  } finally {
    ctx.finish();
  }
  return out;
}

/**
 * Writes into one run of `stage` while nobody reads, until the stage pushes
 * back (a write stays pending) or the input runs out. Returns how many chunks
 * were accepted — the stage's buffering behind a stalled reader.
 */
export function acceptedWhileStalled<I>(
  stage: TransformStage<I, unknown>,
  input: Iterable<I>,
  format: Format,
  ctx: TestContext = testContext(stage.name),
): Promise<number> {
  return acceptedAfterReads(stage, input, format, 0, ctx);
}

/** Waits a number of macrotask turns (enough for stream machinery to settle). */
export async function settleTurns(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/**
 * Feeds `input` through one run of `stage` while reading everything it gives,
 * and returns the error the run failed with (undefined when it completed)
 * together with the output given before it. Unlike `runTransform` it leaves
 * no unhandled rejection behind when the stage throws.
 */
export async function failureOf<I, O>(
  stage: TransformStage<I, O>,
  input: Iterable<I>,
  format: Format,
  ctx: TestContext = testContext(stage.name),
): Promise<{ error: unknown; output: O[] }> {
  await preloadFusion(); // composites fuse as in a run
  const output: O[] = [];
  let error: unknown;
  try {
    const stream = stage.create(ctx, format);
    const reading = (async () => {
      const reader = stream.readable.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        output.push(value);
      }
    })().catch((e: unknown) => e);
    const writer = stream.writable.getWriter();
    try {
      for (const chunk of input) await writer.write(chunk);
      await writer.close();
    } catch (e) {
      error = e;
    }
    const readError = await reading;
    error ??= readError;
  } catch (e) {
    error = e;
  } finally {
    ctx.finish();
  }
  return { error, output };
}

/**
 * Like `acceptedWhileStalled`, but a consumer first asks for `reads` chunks
 * and then stalls — so with `reads` ≥ 1 the count includes what the stage
 * holds back while it has nothing to give yet (a partial frame, a fade's
 * tail). Returns how many input chunks were accepted before a write stayed
 * pending. It ends the run by cancelling the readable before aborting the
 * writer: on Node 20's native TransformStream, aborting a writer whose write
 * waits on backpressure never settles.
 */
export async function acceptedAfterReads<I>(
  stage: TransformStage<I, unknown>,
  input: Iterable<I>,
  format: Format,
  reads = 0,
  ctx: TestContext = testContext(stage.name),
): Promise<number> {
  await preloadFusion(); // composites fuse as in a run
  const stream = stage.create(ctx, format);
  const reader = stream.readable.getReader();
  for (let i = 0; i < reads; i++) reader.read().catch(() => {});
  const writer = stream.writable.getWriter();
  let accepted = 0;
  for (const chunk of input) {
    const write = writer.write(chunk).then(() => true, () => false);
    const settled = await Promise.race([write, settleTurns(20).then(() => false)]);
    if (!settled) break;
    accepted++;
  }
  ctx.controller.abort();
  await reader.cancel().catch(() => {});
  await writer.abort().catch(() => {});
  ctx.finish();
  return accepted;
}
