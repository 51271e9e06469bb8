import * as v from 'valibot';
import { errorFromResponse } from './http-error.js';
import { VoxpipeError, isAbortError, toVoxpipeError } from '../errors.js';
import { anyBytes, describeFormat, refineFormat, type Format } from '../format.js';
import { parseOptions } from '../options.js';
import type { SourceStage } from '../stage.js';
import { ReadableStream } from '../streams.js';
import { formatFromHeaders } from './format-from-headers.js';
import { formatSchema } from './format-schema.js';

const schema = v.strictObject({
  /** What the body is, when known in advance (e.g. a server that sends application/octet-stream); the response's headers have the last word. */
  format: v.optional(v.pipe(formatSchema, v.check((f) => f.kind === 'bytes', 'A response body is bytes: format.kind must be "bytes"'))),
});

export type FromResponseOptions = v.InferInput<typeof schema>;

const STAGE = 'fromResponse';
const FIELDS = ['container', 'encoding', 'sampleRate', 'channels'] as const;

/**
 * A source from a fetch `Response` (or the promise of one) you made yourself —
 * your own endpoint, auth or proxy; for the TTS service use `ttsSource`. The
 * body's format is declared from `Content-Type` (see `formatFromHeaders`) so
 * `decode()` knows what it gets. A non-2xx status becomes a typed error
 * (`auth`, `rate-limit` with `retryAfter`, `bad-request`, `server`) carrying
 * the server's message; a body that breaks off is a retryable `network`
 * error; an abort cancels the body. A response body can be read once, so the
 * pipeline runs once.
 *
 * ```ts
 * const response = fetch('/speak', { method: 'POST', body: JSON.stringify({ text }), signal });
 * pipeline({ signal }, fromResponse(response), decode(), speaker());
 * ```
 */
export function fromResponse(response: Response | Promise<Response>, options: FromResponseOptions = {}): SourceStage<Uint8Array> {
  const o = parseOptions(STAGE, schema, options);
  const given: Format = o.format ?? anyBytes;
  return {
    role: 'source',
    name: STAGE,
    gives: given,
    open(ctx) {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      let stopped = false;
      let ended = false;
      let rejectStop!: (reason: unknown) => void;
      const stoppedPromise = new Promise<never>((_, reject) => {
        rejectStop = reject;
      });
      stoppedPromise.catch(() => {});

      /** Cancels the body, now or (if the response has not come yet) when it comes. */
      const stop = (reason: unknown) => {
        if (stopped || ended) return;
        stopped = true;
        rejectStop(reason);
        if (reader) {
          reader.cancel(reason).catch(() => {});
        } else {
          Promise.resolve(response).then(
            (r) => {
              if (r.body && !r.body.locked) r.body.cancel(reason).catch(() => {});
            },
            () => {},
          );
        }
      };

      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const onAbort = () => {
        const reason = ctx.signal.reason;
        stop(reason);
        try {
          controller.error(reason);
        } catch {
          // already closed
        }
      };
      ctx.onAbort(onAbort);
      ctx.defer(() => {
        stop(new VoxpipeError('aborted', 'The run ended', { stage: STAGE }));
      });

      /** Waits for the response, checks it, declares its format and returns its body's reader (none for an empty body). */
      const begin = async (): Promise<ReadableStreamDefaultReader<Uint8Array> | undefined> => {
        let res: Response;
        try {
          res = await Promise.race([response, stoppedPromise]);
        } catch (error) {
          if (stopped || isAbortError(error)) throw toVoxpipeError(error, STAGE);
          if (error instanceof VoxpipeError) throw error;
          throw new VoxpipeError('network', `The request failed: ${error instanceof Error ? error.message : String(error)}`, { stage: STAGE, cause: error });
        }
        if (!res.ok) {
          ctx.emit('response', { status: res.status });
          throw await Promise.race([errorFromResponse(res, STAGE), stoppedPromise]);
        }
        if (res.bodyUsed || res.body?.locked) {
          throw new VoxpipeError('bad-request', '"fromResponse" can run once: the response body was already read', { stage: STAGE });
        }
        const said = formatFromHeaders(res.headers);
        const declared = refineFormat(given, said);
        if (FIELDS.some((field) => given[field] !== undefined && said[field] !== undefined && given[field] !== said[field])) {
          ctx.emit('warning', {
            code: 'format-mismatch',
            message: `"fromResponse" was told ${describeFormat(given)} but the response says ${describeFormat(said)}; going by the response`,
          });
        }
        ctx.declare(declared);
        ctx.emit('response', { status: res.status, format: declared });
        return res.body?.getReader();
      };

      return new ReadableStream<Uint8Array>(
        {
          start(c) {
            controller = c;
          },
          async pull(c) {
            if (!reader) {
              const opened = await begin();
              if (stopped) {
                opened?.cancel().catch(() => {});
                return;
              }
              if (!opened) {
                ended = true;
                c.close();
                return;
              }
              reader = opened;
            }
            for (;;) {
              let result: ReadableStreamReadResult<Uint8Array>;
              try {
                result = await reader.read();
              } catch (error) {
                if (stopped) return;
                ended = true;
                if (isAbortError(error)) throw toVoxpipeError(error, STAGE);
                const message = error instanceof Error ? error.message : String(error);
                throw new VoxpipeError('network', `The response body broke off: ${message}`, { stage: STAGE, cause: error });
              }
              if (stopped) return;
              if (result.done) {
                ended = true;
                c.close();
                return;
              }
              const chunk = result.value;
              if (chunk.byteLength === 0) continue;
              ctx.mark('first-byte');
              ctx.count('bytes', chunk.byteLength);
              c.enqueue(chunk);
              return;
            }
          },
          cancel(reason) {
            stop(reason);
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
