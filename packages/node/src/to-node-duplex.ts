import { Duplex } from 'node:stream';
import { anyBytes, assemble, VoxpipeError, type Format, type Run, type TransformStage } from '@voxpipe/core';
import { formatAfter, readableEnd, writableEnd } from './bridges.js';

export interface ToNodeDuplexOptions {
  /** What will be written into it. Default: bytes, format unknown. */
  format?: Format;
  /** Aborting it aborts the run. */
  signal?: AbortSignal;
}

/**
 * Turns a middle section of a pipeline — one or more transforms — into a
 * Node Duplex (a transform stream), to drop voxpipe into an existing
 * `stream.pipeline` between Node streams: write `format` in, read the last
 * stage's output. Backpressure runs through both ends, `.run` has the
 * events and metrics, and destroying it aborts the run (like any
 * `Duplex.from`, a bare `destroy()` also emits an AbortError).
 *
 * ```ts
 * const toWav = toNodeDuplex([decode(), resample({ rate: 16000 }), wavEncode()], { format: { kind: 'bytes', container: 'mp3' } });
 * await stream.promises.pipeline(fs.createReadStream('in.mp3'), toWav, fs.createWriteStream('out.wav'));
 * ```
 */
export function toNodeDuplex(transforms: TransformStage | readonly TransformStage[], options: ToNodeDuplexOptions = {}): Duplex & { run: Run<undefined> } {
  const stages = (Array.isArray(transforms) ? transforms : [transforms]) as TransformStage[];
  if (stages.length === 0 || stages.some((s) => s.role !== 'transform')) {
    throw new VoxpipeError('format', '"toNodeDuplex" takes one or more transforms', { stage: 'toNodeDuplex' });
  }
  const format = options.format ?? anyBytes;
  const input = writableEnd(format, 'toNodeDuplex');
  const output = readableEnd(formatAfter(stages, format), 'toNodeDuplex');
  const run = assemble(input.source, ...stages, output.sink).run({ signal: options.signal }) as Run<undefined>;
  input.attach(run);
  output.attach(run);
  const duplex = Duplex.from({ readable: output.readable, writable: input.writable });
  return Object.assign(duplex, { run });
}
