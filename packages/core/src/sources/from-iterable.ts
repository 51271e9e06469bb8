import * as v from 'valibot';
import { VoxpipeError, toVoxpipeError } from '../errors.js';
import type { Format } from '../format.js';
import { parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import type { SourceStage } from '../stage.js';
import { pcmChecker } from '../pcm/pcm-check.js';
import { ReadableStream } from '../streams.js';
import { formatSchema } from './format-schema.js';

const schema = v.strictObject({
  /** What the iterable yields: `bytes` (Uint8Array), `pcm` (PcmChunk) or `text` (string), and whatever else is known. */
  format: formatSchema,
});

export type FromIterableOptions = v.InferInput<typeof schema>;

type Item = Uint8Array | PcmChunk | string;

/**
 * A source from any iterable or async iterable — an async generator reading a
 * socket, an SDK's audio stream, an LLM's token stream, an array in a test.
 * It asks for the next item only when the pipeline wants one, and when the
 * run is aborted it calls the iterator's `return()`, so a generator's
 * `finally` block runs. Each item must be of the format's kind.
 *
 * ```ts
 * async function* audio() { for await (const m of socket) yield new Uint8Array(m.data); }
 * pipeline(fromIterable(audio(), { format: { kind: 'bytes', container: 'mp3' } }), decode(), speaker());
 * ```
 */
export function fromIterable<T extends Item>(iterable: Iterable<T> | AsyncIterable<T>, options: { format: Format }): SourceStage<T> {
  const { format } = parseOptions('fromIterable', schema, options);
  const isAsync = typeof (iterable as Partial<AsyncIterable<T>> | null)?.[Symbol.asyncIterator] === 'function';
  if (!isAsync && typeof (iterable as Partial<Iterable<T>> | null)?.[Symbol.iterator] !== 'function') {
    throw new VoxpipeError('bad-request', '"fromIterable" needs an iterable or an async iterable', { stage: 'fromIterable' });
  }
  return {
    role: 'source',
    name: 'fromIterable',
    gives: format,
    open(ctx) {
      ctx.declare(format);
      const check = format.kind === 'pcm' ? pcmChecker('fromIterable', format) : undefined;
      let iterator: Iterator<T> | AsyncIterator<T> | undefined;
      let finished = false;
      let returned = false;
      let inNext = false;
      const callReturn = () => {
        if (returned || !iterator) return;
        returned = true;
        try {
          const result = iterator.return?.();
          if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(undefined, () => {});
        } catch {
          // the iterator's own cleanup failed; nothing more to do
        }
      };
      /**
       * Lets the iterator clean up (a generator's `finally`) without waiting for
       * it, as it may be stuck. A sync iterator that is inside `next()` (the
       * abort came from its own code) is returned as soon as `next()` comes back.
       */
      const finish = () => {
        if (finished) return;
        finished = true;
        if (!(inNext && !isAsync)) callReturn();
      };
      const fail = (message: string) => new VoxpipeError('format', `"fromIterable" ${message}`, { stage: 'fromIterable' });
      const accept = (value: unknown): T => {
        if (format.kind === 'bytes') {
          if (!ArrayBuffer.isView(value)) throw fail(`with kind "bytes" got ${describe(value)}, not a Uint8Array`);
          ctx.mark('first-byte');
          ctx.count('bytes', value.byteLength);
          return (value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) as T;
        }
        if (format.kind === 'pcm') {
          check!(value as PcmChunk);
          ctx.mark('first-audio');
          return value as T;
        }
        if (typeof value !== 'string') throw fail(`with kind "text" got ${describe(value)}, not a string`);
        return value as T;
      };

      let controller!: ReadableStreamDefaultController<T>;
      const onAbort = () => {
        try {
          controller.error(ctx.signal.reason);
        } catch {
          // already closed
        }
        finish();
      };
      ctx.onAbort(onAbort);
      ctx.defer(() => {
        finish();
      });

      return new ReadableStream<T>(
        {
          start(c) {
            controller = c;
          },
          async pull(c) {
            if (finished) return;
            iterator ??= isAsync ? (iterable as AsyncIterable<T>)[Symbol.asyncIterator]() : (iterable as Iterable<T>)[Symbol.iterator]();
            let result: IteratorResult<T>;
            inNext = true;
            try {
              result = await iterator.next();
            } catch (error) {
              finished = returned = true;
              throw toVoxpipeError(error, 'fromIterable');
            } finally {
              inNext = false;
            }
            if (finished) return callReturn();
            if (result.done) {
              finished = returned = true;
              c.close();
              return;
            }
            let item: T;
            try {
              item = accept(result.value);
            } catch (error) {
              finish();
              throw error;
            }
            c.enqueue(item);
          },
          cancel() {
            finish();
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return `a ${typeof value}`;
}
