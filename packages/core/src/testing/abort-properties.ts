import fc from 'fast-check';
import { VoxpipeError } from '../errors.js';
import type { Format } from '../format.js';
import { preloadFusion } from '../load-fusion.js';
import { pipeline, type Run } from '../pipeline.js';
import { collect } from '../sinks/collect.js';
import type { TransformStage } from '../stage.js';
import { endlessSource } from './endless-source.js';
import { settleTurns, testContext } from './harness.js';

/** How to run one stage over and over: a fresh stage, one input chunk, and the input's format. */
export interface AbortSubject<I> {
  stage: () => TransformStage<I, unknown>;
  chunk: () => I;
  format: Format;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/**
 * Property: after any interleaving of writes and reads, an abort — reaching
 * both ends of the stage in either order, or only its output (a consumer that
 * cancels) — settles every pending read and write, leaves the stage refusing
 * writes and ended for reads, and leaves no cleanup behind. (The input end
 * alone is left out: on Node 20's native TransformStream an abort waiting on
 * a backpressured write never settles, and a pipeline cancels both ends.)
 *
 * ```ts
 * it('aborts cleanly at any point', () => abortAtAnyPoint({ stage: () => gain(), chunk: () => pcm, format: anyPcm }));
 * ```
 */
export async function abortAtAnyPoint<I>(subject: AbortSubject<I>, numRuns = 30): Promise<void> {
  await preloadFusion(); // composites fuse as in a run
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom('w', 'r'), { maxLength: 12 }), fc.constantFrom('cancel', 'abort-then-cancel', 'cancel-then-abort'), async (ops, how) => {
      const stage = subject.stage();
      const ctx = testContext(stage.name);
      const stream = stage.create(ctx, subject.format);
      const writer = stream.writable.getWriter();
      const reader = stream.readable.getReader();
      const pending: Promise<unknown>[] = [];
      for (const op of ops) {
        pending.push(op === 'w' ? writer.write(subject.chunk()).catch(() => {}) : reader.read().catch(() => {}));
        await settleTurns(1);
      }
      const reason = new VoxpipeError('aborted', 'stop');
      ctx.controller.abort(reason);
      const abort = () => writer.abort(reason).catch(() => {});
      const cancel = () => reader.cancel(reason).catch(() => {});
      if (how === 'cancel') pending.push(cancel());
      else if (how === 'abort-then-cancel') pending.push(abort(), cancel());
      else pending.push(cancel(), abort());
      await Promise.all(pending); // would hang if anything stayed pending
      check(await writer.write(subject.chunk()).then(() => false, () => true), 'the stage took a write after the abort');
      check(await reader.read().then((r) => r.done, () => true), 'the stage gave a chunk after the abort');
      ctx.finish();
      check(ctx.pendingCleanups() === 0, `${ctx.pendingCleanups()} cleanups left after the abort`);
    }),
    { numRuns },
  );
}

/**
 * Property: a pipeline through the stage, aborted at any pull of an endless
 * source, ends `aborted` with no value, and the source is asked for nothing
 * more. (Not asserted: that the source's `cancel()` runs. On Node 20's native
 * streams it does not when the abort lands while a write into a transform
 * waits on backpressure; sources that hold resources also watch the run's signal.)
 *
 * ```ts
 * it('a run aborted at any point ends aborted', () => runAbortedAtAnyPull({ stage: () => gain(), chunk: () => pcm, format }));
 * ```
 */
export async function runAbortedAtAnyPull<I>(subject: AbortSubject<I>, numRuns = 15): Promise<void> {
  await preloadFusion(); // composites fuse as in a run
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 25 }), async (abortAt) => {
      const endless = endlessSource(subject.format, subject.chunk, (pull) => {
        if (pull === abortAt) run.abort();
      });
      const stage = subject.stage();
      const gives = stage.gives(subject.format);
      const run: Run<unknown> = pipeline(endless, stage, collect({ kind: gives.kind === 'bytes' ? 'bytes' : 'pcm' }));
      const { outcome, value } = await run.done;
      check(outcome === 'aborted', `the run ended ${outcome}`);
      check(value === undefined, 'an aborted run gave a value');
      await settleTurns(5);
      check(endless.pulls === abortAt, `the source was pulled ${endless.pulls - abortAt} more times after the abort`);
    }),
    { numRuns },
  );
}
