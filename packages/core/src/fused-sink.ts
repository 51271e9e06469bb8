import { isThenable } from './pump.js';
import type { StageSink, StageTransformer } from './stage.js';

/**
 * How a sink written through `sinkAfter` ends when the chain before it ended
 * its output early (a stage terminated its stream, as `fade` does after a
 * requested fade-out): the sink has been closed, the write is rejected with
 * this to stop what feeds it, and the run counts as completed.
 */
export class OutputEnded extends TypeError {
  constructor(stage: string) {
    super(`"${stage}" ended its output`);
    this.name = 'OutputEnded';
  }
}

/**
 * The sink `sink` with a chain of synchronous stages (a fused transformer,
 * see `fuseTransformers`) run inside its writes: each chunk written goes
 * through the chain within the call and what the chain gives is written to
 * `sink` in order, one write after another, so the chain needs no stream of
 * its own. It behaves as the chain's TransformStream piped into `sink`
 * would: a stage's error aborts `sink` and fails the writes with that
 * error; `sink` failing cancels the chain; the chain ending its output
 * early closes `sink` and rejects with {@link OutputEnded}; closing flushes
 * the chain into `sink` before `sink` closes. Pipelines use it for the
 * synchronous stages just before their sink.
 *
 * ```ts
 * const writable = new WritableStream(sinkAfter(fuseTransformers(parts), handle.sink, 'gain+pcmEncode'));
 * ```
 */
export function sinkAfter(chain: StageTransformer<unknown, unknown>, sink: StageSink<unknown>, name: string): StageSink<unknown> {
  let writer: WritableStreamDefaultController;
  /** What the chain gave in its current call, delivered from `next` on. */
  const given: unknown[] = [];
  let next = 0;
  let failure: { reason: unknown } | undefined;
  let terminated = false;
  let flushing = false;
  /** Closed or aborted: nothing more reaches `sink`. */
  let done = false;

  const output = {
    get desiredSize() {
      return 0; // as a TransformStream's readable (high-water mark 0) whose reader waits
    },
    enqueue(chunk: unknown) {
      if (done || terminated) throw new TypeError(`"${name}" has ended and cannot give more chunks`);
      given.push(chunk);
    },
    terminate() {
      terminated = true;
    },
    error(reason: unknown) {
      failure ??= { reason };
    },
  } as TransformStreamDefaultController<unknown>;

  /** Hands what the chain gave to `sink`, in order; settles as the chain's call would have. */
  function deliver(): void | Promise<void> {
    if (failure) return fail(failure.reason);
    while (next < given.length) {
      const chunk = given[next++];
      let written: void | PromiseLike<void>;
      try {
        written = sink.write?.(chunk, writer);
      } catch (error) {
        return sinkFailed(error);
      }
      if (isThenable(written)) return Promise.resolve(written).then(deliver, sinkFailed);
    }
    given.length = 0;
    next = 0;
    if (terminated && !flushing && !done) return endEarly();
  }

  async function fail(reason: unknown): Promise<void> {
    given.length = 0;
    if (!done) {
      done = true;
      await sink.abort?.(reason);
    }
    throw reason;
  }

  function sinkFailed(error: unknown): never {
    given.length = 0;
    done = true;
    void chain.cancel?.(error);
    throw error;
  }

  async function endEarly(): Promise<void> {
    done = true;
    await sink.close?.();
    throw new OutputEnded(name);
  }

  return {
    start(controller) {
      writer = controller;
      chain.start?.(output);
      const started = sink.start?.(controller);
      return isThenable(started) ? Promise.resolve(started).then(deliver) : deliver();
    },
    write(chunk) {
      if (done) return;
      chain.transform?.(chunk, output);
      return deliver();
    },
    async close() {
      if (done) return;
      flushing = true;
      chain.flush?.(output);
      await deliver();
      done = true;
      await sink.close?.();
    },
    async abort(reason) {
      if (done) return;
      done = true;
      given.length = 0;
      await chain.cancel?.(reason);
      await sink.abort?.(reason);
    },
  };
}
