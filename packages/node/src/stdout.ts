import type { Writable } from 'node:stream';
import { anyBytes, parseOptions, VoxpipeError, type SinkStage } from '@voxpipe/core';
import * as v from 'valibot';
import { writeWithDrain } from './io.js';

const schema = v.strictObject({});

export type StdoutOptions = v.InferInput<typeof schema>;

/** What a `stdout` run gives back. */
export interface StdoutResult {
  /** Bytes handed to the stream. */
  bytes: number;
  /** True when the reader went away (EPIPE) before the end; later bytes were dropped. */
  readerGone: boolean;
}

const guarded = new WeakSet<object>();

/**
 * A sink that writes bytes to standard output, for shell pipes:
 * `voxpipe say … | ffplay -`. It waits for `drain` when the pipe is full, so
 * a slow reader slows the pipeline instead of filling memory. When the
 * reader goes away (`| head -c 1000`, a closed player) the EPIPE is handled
 * quietly: a `reader-gone` warning is reported once, the rest is dropped and
 * the run still completes. stdout is never ended (other output may follow).
 *
 * ```ts
 * await pipeline(ttsSource({ baseUrl, text: 'Hello', format: 'mp3' }), stdout()).done;
 * await pipeline(tone({ ms: 500 }), pcmEncode(), stdout()).done; // | aplay -f S16_LE -r 24000
 * ```
 *
 * `io.stream` replaces process.stdout (for tests, or any Writable).
 */
export function stdout(options: StdoutOptions = {}, io: { stream?: Writable } = {}): SinkStage<Uint8Array, StdoutResult> {
  parseOptions('stdout', schema, options);
  return {
    role: 'sink',
    name: 'stdout',
    takes: anyBytes,
    spec: { stage: 'stdout', options: {} },
    open(ctx) {
      const out: Writable = io.stream ?? process.stdout;
      let bytes = 0;
      let readerGone = false;
      let failure: VoxpipeError | undefined;
      const onError = (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED' || error.code === 'ECONNRESET') {
          if (!readerGone) ctx.emit('warning', { code: 'reader-gone', message: 'The reader of stdout went away; the rest of the output is dropped' });
          readerGone = true;
        } else {
          failure ??= new VoxpipeError('internal', `"stdout" cannot write: ${error.message}`, { stage: 'stdout', cause: error });
        }
      };
      out.on('error', onError);
      guardForever(out);
      ctx.defer(() => out.off('error', onError));
      return {
        sink: {
          async write(chunk) {
            if (failure) throw failure;
            if (!ArrayBuffer.isView(chunk)) throw new VoxpipeError('format', '"stdout" takes Uint8Array chunks', { stage: 'stdout' });
            if (readerGone || out.destroyed) {
              readerGone = true;
              return;
            }
            const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
            bytes += view.byteLength;
            await writeWithDrain(out, view, ctx.signal);
            if (failure) throw failure;
          },
          close() {
            if (failure) throw failure;
          },
        },
        result: () => ({ bytes, readerGone }),
      };
    },
  };
}

/**
 * An EPIPE can surface after the run has ended and its listener is gone;
 * with no listener Node would crash the process. One quiet listener per
 * stream, for good, swallows EPIPE only and rethrows anything else when it
 * is the only listener (Node's own behaviour).
 */
function guardForever(out: Writable): void {
  if (guarded.has(out)) return;
  guarded.add(out);
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    if (out.listenerCount('error') === 1) throw error;
  });
}
