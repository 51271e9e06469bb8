import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { assemble, VoxpipeError, type Run, type SourceStage, type SourceWrapperStage, type TransformStage } from '@voxpipe/core';
import { formatAfter, readableEnd } from './bridges.js';

/** A source and, after it, any wrappers and transforms: a pipeline without its sink. */
export type SourceChain = SourceStage | readonly [SourceStage, ...(TransformStage | SourceWrapperStage)[]];

export interface ToNodeReadableOptions {
  /** For a ReadableStream: give chunks as objects (PCM, text) rather than bytes. Default false. */
  objectMode?: boolean;
  /** For a chain: aborting it aborts the run. */
  signal?: AbortSignal;
}

/**
 * Turns voxpipe output into a Node Readable, for `stream.pipeline` and
 * `.pipe()` users. Give it a WHATWG ReadableStream (a `fetch` body, a
 * stage's output: via `Readable.fromWeb`), or a pipeline without its sink —
 * a source and transforms — which it runs: the readable gives the last
 * stage's chunks (bytes as Buffers-compatible Uint8Arrays, PCM as objects)
 * at the consumer's pace, has the run as `.run` (events, metrics), and
 * destroying it aborts the run; a failed run destroys it with the error.
 *
 * ```ts
 * const audio = toNodeReadable([ttsSource({ baseUrl, text: 'Hello' }), decode(), wavEncode()]);
 * await stream.promises.pipeline(audio, fs.createWriteStream('hello.wav'));
 * ```
 */
export function toNodeReadable(stream: ReadableStream<unknown>, options?: ToNodeReadableOptions): Readable;
export function toNodeReadable(chain: SourceChain, options?: ToNodeReadableOptions): Readable & { run: Run<undefined> };
export function toNodeReadable(input: ReadableStream<unknown> | SourceChain, options: ToNodeReadableOptions = {}): Readable {
  if (typeof (input as ReadableStream<unknown>).getReader === 'function') {
    const stream = input as ReadableStream<unknown>;
    if (stream instanceof globalThis.ReadableStream) {
      return Readable.fromWeb(stream as unknown as NodeWebReadableStream, { objectMode: options.objectMode ?? false });
    }
    return Readable.from(iterate(stream), { objectMode: options.objectMode ?? false });
  }
  const stages = (Array.isArray(input) ? input : [input]) as (SourceStage | TransformStage | SourceWrapperStage)[];
  if (stages.length === 0 || stages[0].role !== 'source') {
    throw new VoxpipeError('format', '"toNodeReadable" takes a ReadableStream, or a source followed by transforms', { stage: 'toNodeReadable' });
  }
  const end = readableEnd(formatAfter(stages), 'toNodeReadable');
  const run = assemble(...stages, end.sink).run({ signal: options.signal });
  end.attach(run);
  return Object.assign(end.readable, { run });
}

/** Reads any WHATWG ReadableStream (native or ponyfill); returning early cancels it. */
async function* iterate<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const step = await reader.read();
      if (step.done) {
        done = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
