import type { Readable } from 'node:stream';
import { anyBytes, ReadableStream, VoxpipeError, type Format, type SourceStage } from '@voxpipe/core';
import { toBytes } from './bridges.js';

export interface FromNodeReadableOptions {
  /** What the stream carries, e.g. `{ kind: 'bytes', container: 'mp3' }`. Default: bytes, format unknown (decode() sniffs it). */
  format?: Format;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/**
 * A source that reads a Node Readable — an HTTP response, a child process's
 * stdout, `fs.createReadStream`, anything async-iterable — as the pipeline
 * asks for it, so Node's own backpressure holds. Bytes come through as
 * Uint8Array; with a `pcm` or `text` format, chunks pass as they are
 * (type them with `fromNodeReadable<PcmChunk>(…)`).
 * Aborting the run destroys the Node stream. A Node stream can be read once,
 * so the source runs once.
 *
 * ```ts
 * const res = await new Promise((ok) => https.get(url, ok));
 * await pipeline(fromNodeReadable(res, { format: { kind: 'bytes', container: 'mp3' } }), decode(), play()).done;
 * ```
 */
export function fromNodeReadable<T = Uint8Array>(readable: Readable | AsyncIterable<unknown>, options: FromNodeReadableOptions = {}): SourceStage<T> {
  const format = options.format ?? anyBytes;
  if (typeof (readable as AsyncIterable<unknown>)?.[Symbol.asyncIterator] !== 'function') {
    throw new VoxpipeError('bad-request', '"fromNodeReadable" takes a Node Readable (or any async iterable)', { stage: 'fromNodeReadable' });
  }
  let opened = false;
  return {
    role: 'source',
    name: 'fromNodeReadable',
    gives: format,
    open(ctx) {
      if (opened) throw new VoxpipeError('bad-request', '"fromNodeReadable" reads a Node stream, which can only be read once', { stage: 'fromNodeReadable' });
      opened = true;
      ctx.declare(format);
      const iterator = (readable as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      let finished = false;
      const stop = async () => {
        if (finished) return;
        finished = true;
        await iterator.return?.();
      };
      ctx.defer(() => void stop().catch(() => {}));
      return new ReadableStream<T>(
        {
          async pull(controller) {
            let step: IteratorResult<unknown>;
            try {
              step = await iterator.next();
            } catch (error) {
              finished = true;
              throw readError(error);
            }
            if (step.done) {
              finished = true;
              return controller.close();
            }
            if (format.kind === 'bytes') {
              const bytes = toBytes(step.value, 'fromNodeReadable');
              ctx.mark('first-byte');
              ctx.count('bytes', bytes.byteLength);
              controller.enqueue(bytes as T);
            } else {
              controller.enqueue(step.value as T);
            }
          },
          cancel: stop,
        },
        { highWaterMark: 0 },
      );
    },
  };
}

function readError(error: unknown): VoxpipeError {
  if (error instanceof VoxpipeError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const kind = typeof code === 'string' && NETWORK_CODES.has(code) ? 'network' : 'internal';
  return new VoxpipeError(kind, `The Node stream failed: ${message}`, { stage: 'fromNodeReadable', cause: error });
}
