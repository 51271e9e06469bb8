import type { StageSink } from './stage.js';

/** Whether a sink's call returned a promise to wait for. */
export const isThenable = (value: unknown): value is PromiseLike<void> => typeof (value as PromiseLike<void> | undefined)?.then === 'function';

/**
 * Reads `readable` to its end into the underlying sink `sink`, as
 * `readable.pipeTo(new WritableStream(sink), { signal })` does with the
 * default strategy (one chunk at a time, no read-ahead), without the
 * WritableStream and its promises per chunk: `start` first, each `write`
 * finished before the next read, `close` at the end. It ends as the pipe
 * would: `readable` failing aborts the sink with its error; the sink
 * failing (a write, `start`, `close`, or `controller.error()`) cancels
 * `readable` with its error and never aborts the sink; `signal` aborting
 * cancels `readable` a turn later and aborts the sink once the chunk already read
 * is written (not once it is closing). It rejects with that error or reason.
 * A sink's `controller` has `error()` and `signal` (aborted with the
 * reason the sink is aborted with). Pipelines run their sink with it.
 *
 * ```ts
 * await pump(readable, handle.sink, run.signal);
 * ```
 */
export async function pump(readable: ReadableStream<unknown>, sink: StageSink<unknown>, signal: AbortSignal): Promise<void> {
  const reader = readable.getReader();
  const aborter = new AbortController();
  /** The sink's own failure (`controller.error()`, or a call that threw). */
  let sinkError: { reason: unknown } | undefined;
  let closing = false;
  const stopReading = (reason: unknown) => void reader.cancel(reason).catch(() => {});
  const controller = {
    signal: aborter.signal,
    error(reason: unknown) {
      if (sinkError || closing || signal.aborted) return;
      sinkError = { reason };
      stopReading(reason);
    },
  } as WritableStreamDefaultController;
  // a turn later, as a pipe's shutdown: a chunk the source is giving in the same call is still read and written
  const onAbort = () => void Promise.resolve().then(() => stopReading(signal.reason));
  signal.addEventListener('abort', onAbort, { once: true });

  /** A call of the sink's that failed: the sink is errored, not aborted. */
  const failed = (error: unknown) => {
    if (!sinkError) {
      sinkError = { reason: error };
      stopReading(error);
    }
    return sinkError.reason;
  };
  /** Whether the pipe is ending: the sink failed or the signal aborted. */
  const stopped = () => sinkError !== undefined || signal.aborted;
  /** Throws what ended it, as the pipe would end: the sink's error, else the abort (the sink aborted first). */
  const end = async (): Promise<never> => {
    if (sinkError) throw sinkError.reason;
    aborter.abort(signal.reason);
    await sink.abort?.(signal.reason);
    throw signal.reason;
  };

  try {
    if (signal.aborted) onAbort();
    /** The first chunk is read while the sink starts, as a pipe reads into the WritableStream's queue meanwhile. */
    let early: Promise<ReadableStreamReadResult<unknown>> | undefined;
    try {
      const started = sink.start?.(controller);
      if (isThenable(started)) {
        early = reader.read();
        early.catch(() => {}); // handled when it is read below
        await started;
      }
    } catch (error) {
      throw failed(error);
    }
    for (;;) {
      if (stopped()) await end();
      let next: ReadableStreamReadResult<unknown>;
      try {
        next = await (early ?? reader.read());
        early = undefined;
      } catch (error) {
        if (stopped()) await end(); // the read failed because the sink failed or the run was aborted
        aborter.abort(error);
        await sink.abort?.(error);
        throw error;
      }
      if (sinkError || (next.done && signal.aborted)) await end(); // a chunk read before the abort is still written, as a pipe does
      if (next.done) break;
      try {
        const written = sink.write?.(next.value, controller);
        if (isThenable(written)) await written;
      } catch (error) {
        throw failed(error);
      }
    }
    closing = true;
    try {
      await sink.close?.();
    } catch (error) {
      throw failed(error);
    }
    if (signal.aborted) throw signal.reason;
  } finally {
    signal.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}
