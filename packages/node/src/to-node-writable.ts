import { Writable } from 'node:stream';
import type { WritableStream as NodeWebWritableStream } from 'node:stream/web';
import { anyBytes, assemble, VoxpipeError, type Format, type Run, type SinkStage, type TransformStage } from '@voxpipe/core';
import { writableEnd } from './bridges.js';

/** A sink and, before it, any transforms: a pipeline without its source. */
export type SinkChain = SinkStage | readonly [...TransformStage[], SinkStage];

export interface ToNodeWritableOptions {
  /** For a chain: what will be written into it. Default: bytes, format unknown. */
  format?: Format;
  /** For a WritableStream: take chunks as objects (PCM, text) rather than bytes. Default false. */
  objectMode?: boolean;
  /** For a chain: aborting it aborts the run. */
  signal?: AbortSignal;
}

/**
 * Turns a voxpipe sink into a Node Writable, so Node streams can be piped
 * into voxpipe with `stream.pipeline`. Give it a WHATWG WritableStream (via
 * `Writable.fromWeb`), or a pipeline without its source — transforms and a
 * sink — plus the `format` of what you will write. The chain runs at once;
 * each write's callback waits until the run wants more (backpressure),
 * 'finish' waits until the sink has finished (the WAV patched, the audio
 * played), `.run` has its events and metrics, and destroying the writable
 * aborts the run.
 *
 * ```ts
 * const out = toNodeWritable([decode(), wavFile('hello.wav')], { format: { kind: 'bytes', container: 'mp3' } });
 * await stream.promises.pipeline(fs.createReadStream('hello.mp3'), out);
 * ```
 */
export function toNodeWritable(stream: WritableStream<unknown>, options?: ToNodeWritableOptions): Writable;
export function toNodeWritable<R>(chain: SinkStage<any, R> | readonly [...TransformStage[], SinkStage<any, R>], options?: ToNodeWritableOptions): Writable & { run: Run<R> };
export function toNodeWritable(target: WritableStream<unknown> | SinkChain, options: ToNodeWritableOptions = {}): Writable {
  if (typeof (target as WritableStream<unknown>).getWriter === 'function') {
    return Writable.fromWeb(target as unknown as NodeWebWritableStream, { objectMode: options.objectMode ?? false });
  }
  const stages = (Array.isArray(target) ? target : [target]) as (TransformStage | SinkStage)[];
  if (stages.length === 0 || stages[stages.length - 1].role !== 'sink') {
    throw new VoxpipeError('format', '"toNodeWritable" takes a WritableStream, or transforms followed by a sink', { stage: 'toNodeWritable' });
  }
  const end = writableEnd(options.format ?? anyBytes, 'toNodeWritable');
  const run = assemble(end.source, ...(stages as [...TransformStage[], SinkStage])).run({ signal: options.signal });
  end.attach(run);
  return Object.assign(end.writable, { run });
}
