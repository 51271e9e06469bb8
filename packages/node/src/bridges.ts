// Internal: the two ends that join a voxpipe run to Node streams.
import { Readable, Writable } from 'node:stream';
import {
  ReadableStream,
  VoxpipeError,
  toVoxpipeError,
  type AnyStage,
  type Format,
  type Run,
  type SinkStage,
  type SourceStage,
} from '@voxpipe/core';

/** Bytes travel as Uint8Array in byte mode; PCM and text need object mode. */
export function isObjectMode(format: Format): boolean {
  return format.kind !== 'bytes';
}

/** The format a chain of stages (source or transforms) gives, starting from `from`. */
export function formatAfter(stages: readonly AnyStage[], from?: Format): Format {
  let current = from;
  for (const stage of stages) {
    if (stage.role === 'source') current = stage.gives;
    else if (stage.role === 'transform') current = stage.gives(current!);
  }
  if (!current) throw new VoxpipeError('format', 'A chain needs a source, or a format to start from');
  return current;
}

/** Errors a run handed to a bridge as it failed: when they come back through Node's destroy, the run is not aborted on top. */
const fromRun = new WeakSet<object>();

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : toVoxpipeError(reason);
}

/**
 * A sink stage whose chunks come out of a Node Readable. The readable asks
 * (`_read`) and the sink's write waits until it does: Node's backpressure
 * becomes the run's. Destroying the readable aborts the run; a failed or
 * aborted run destroys the readable with the VoxpipeError.
 */
export function readableEnd(format: Format, name: string): { sink: SinkStage<unknown, undefined>; readable: Readable; attach(run: Run<unknown>): void } {
  const objectMode = isObjectMode(format);
  let wanted: (() => void) | undefined;
  let run: Run<unknown> | undefined;
  let settled = false;
  const wake = () => {
    const w = wanted;
    wanted = undefined;
    w?.();
  };
  const readable = new Readable({
    objectMode,
    read: wake,
    destroy(error, callback) {
      if (run && !settled && !(error && fromRun.has(error))) run.abort(error ? `${name}: ${error.message}` : `${name} was destroyed`);
      wake();
      callback(error);
    },
  });
  const sink: SinkStage<unknown, undefined> = {
    role: 'sink',
    name,
    takes: { kind: format.kind },
    open(ctx) {
      return {
        sink: {
          write(chunk) {
            if (readable.destroyed) return;
            const value = objectMode ? chunk : toBytes(chunk, name);
            if (readable.push(value) || ctx.signal.aborted) return;
            return new Promise<void>((resolve) => {
              wanted = resolve;
              ctx.signal.addEventListener('abort', wake, { once: true });
            });
          },
          close() {
            if (!readable.destroyed) readable.push(null);
          },
          abort(reason) {
            const error = asError(reason);
            fromRun.add(error);
            if (!readable.destroyed) readable.destroy(error);
          },
        },
        result: () => undefined,
      };
    },
  };
  return {
    sink,
    readable,
    attach(r) {
      run = r;
      r.done.then(
        (result) => {
          settled = true;
          if (result.outcome === 'aborted' && !readable.destroyed && !readable.readableEnded) {
            readable.destroy(new VoxpipeError('aborted', 'The run was aborted', { stage: name }));
          }
        },
        (error) => {
          settled = true;
          if (!readable.destroyed) readable.destroy(asError(error));
        },
      );
    },
  };
}

/**
 * A source stage fed by a Node Writable: what Node code writes goes into
 * the run, and the write's callback waits until the run wants more.
 * `end()` finishes once the run has finished (so 'finish' means the file is
 * written, the audio played). Destroying the writable aborts the run; a
 * failed or aborted run destroys the writable with the VoxpipeError.
 */
export function writableEnd(format: Format, name: string): { source: SourceStage; writable: Writable; attach(run: Run<unknown>): void } {
  const objectMode = isObjectMode(format);
  let run: Run<unknown> | undefined;
  let settled = false;
  let opened = false;
  let cancelled: Error | undefined;
  let pending: ((error?: Error | null) => void) | undefined;
  // Resolves when the run opens the source, or with undefined when the run ended without opening it.
  let resolveController!: (c: ReadableStreamDefaultController<unknown> | undefined) => void;
  const controller = new Promise<ReadableStreamDefaultController<unknown> | undefined>((resolve) => (resolveController = resolve));
  const notOpened = () => new VoxpipeError('aborted', `The run ended before "${name}" was read`, { stage: name });
  let ctxRef: { mark(m: 'first-byte'): void; count(c: 'bytes', n: number): void } | undefined;
  const release = (error?: Error) => {
    const p = pending;
    pending = undefined;
    p?.(error ?? null);
  };

  const writable = new Writable({
    objectMode,
    write(chunk, _encoding, callback) {
      void controller.then((c) => {
        if (cancelled) return callback(cancelled);
        if (!c) return callback(notOpened());
        const value = objectMode ? chunk : toBytes(chunk, name);
        try {
          c.enqueue(value);
        } catch (error) {
          return callback(asError(error));
        }
        if (!objectMode) {
          ctxRef?.mark('first-byte');
          ctxRef?.count('bytes', (value as Uint8Array).byteLength);
        }
        if ((c.desiredSize ?? 0) > 0) callback();
        else pending = callback;
      });
    },
    final(callback) {
      void controller.then(async (c) => {
        if (cancelled) return callback(cancelled);
        if (!c) return callback(notOpened());
        c.close();
        try {
          const result = await run!.done;
          callback(result.outcome === 'aborted' ? new VoxpipeError('aborted', 'The run was aborted', { stage: name }) : null);
        } catch (error) {
          callback(asError(error));
        }
      });
    },
    destroy(error, callback) {
      if (run && !settled && !(error && fromRun.has(error))) run.abort(error ? `${name}: ${error.message}` : `${name} was destroyed`);
      release(error ?? undefined);
      callback(error);
    },
  });

  const source: SourceStage = {
    role: 'source',
    name,
    gives: format,
    open(ctx) {
      if (opened) throw new VoxpipeError('bad-request', `"${name}" reads a Node stream, which can only be read once`, { stage: name });
      opened = true;
      ctxRef = ctx;
      ctx.declare(format);
      return new ReadableStream<unknown>(
        {
          start: resolveController,
          pull: () => release(),
          cancel(reason) {
            cancelled = asError(reason);
            fromRun.add(cancelled);
            release(cancelled);
          },
        },
        { highWaterMark: 1 },
      );
    },
  };

  return {
    source,
    writable,
    attach(r) {
      run = r;
      const ended = () => {
        settled = true;
        if (!opened) resolveController(undefined);
      };
      r.done.then(
        (result) => {
          ended();
          if (result.outcome === 'aborted' && !writable.destroyed && !writable.writableFinished) {
            writable.destroy(new VoxpipeError('aborted', 'The run was aborted', { stage: name }));
          }
        },
        (error) => {
          ended();
          if (!writable.destroyed && !writable.writableFinished) writable.destroy(asError(error));
        },
      );
    },
  };
}

/** A chunk as a Uint8Array (Buffers pass as they are: they are Uint8Arrays). */
export function toBytes(chunk: unknown, stage: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (typeof chunk === 'string') return new TextEncoder().encode(chunk);
  throw new VoxpipeError('format', `"${stage}" carries bytes, but got ${chunk === null ? 'null' : typeof chunk}`, { stage });
}
