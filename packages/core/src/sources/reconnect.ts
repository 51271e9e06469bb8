import * as v from 'valibot';
import { isResumable, type ResumeResponse } from './resumable.js';
import { VoxpipeError, isAbortError } from '../errors.js';
import { msSchema, parseOptions } from '../options.js';
import { createContext } from '../context.js';
import type { SourceStage, SourceWrapperStage, StageContext } from '../stage.js';
import { ReadableStream } from '../streams.js';

const backoffSchema = v.strictObject({
  /** Wait before the first retry of an outage. */
  initialMs: v.optional(msSchema, 200),
  /** Longest wait between two attempts. */
  maxMs: v.optional(msSchema, 5000),
  /** Each wait is this many times the one before. */
  factor: v.optional(v.pipe(v.number(), v.finite(), v.minValue(1), v.maxValue(100)), 2),
  /** Each wait is spread by ± this fraction, so clients dropped together do not return together. */
  jitter: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1)), 0.2),
});

const schema = v.strictObject({
  /** Most attempts in a row that may fail (without a new byte between them) before giving up. */
  retries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000)), 5),
  backoff: v.optional(backoffSchema, {}),
  /** A connection that gives no byte for this long is dropped and resumed; 0 turns stall detection off. */
  stallMs: v.optional(msSchema, 10000),
  /** Longest one outage may last (from the failure to the next byte) before giving up. */
  timeoutMs: v.optional(msSchema),
  /**
   * What to do when a resume cannot be proven to be the same stream:
   * `'fail'` the run with `resume-mismatch`, or `'restart'`: report a
   * `restart` event and deliver the new stream from its first byte (at most
   * `retries` times a run). Only a consumer that acts on the event can take
   * a restart: stages between keep what they were given.
   */
  onMismatch: v.optional(v.picklist(['fail', 'restart']), 'fail'),
});

export type ReconnectOptions = v.InferInput<typeof schema>;
type Options = v.InferOutput<typeof schema>;

/**
 * Wraps a byte source so a dropped, reset or stalled connection is resumed
 * where it broke: it re-opens with `Range: bytes=<delivered>-` and
 * `If-Range: <the first response's ETag>` (skipping what was already
 * delivered when the server answers 200 instead of 206), so no byte is lost
 * or repeated. A resume is used only when it is proven to be the same
 * stream: the first response had a strong ETag and the resumed one has the
 * same, its Content-Range starts at the byte asked for, and every length the
 * server gave agrees. Anything else is never spliced on: the run fails with
 * a non-retryable `resume-mismatch` (or, with `onMismatch: 'restart'`,
 * starts the stream over after a `restart` event). Failed requests are
 * retried for 429, 5xx and network errors (honouring Retry-After), never for
 * other 4xx. Backoff is exponential with jitter; `retries` and `timeoutMs`
 * bound each outage. Reports `retry` (each wait), `reconnect` (each re-open
 * after a broken connection), `restart` and `give-up`. Sources without a
 * `resumable` capability (files, in-memory bytes) are trusted to give the
 * same bytes again: they are re-opened from the start and the delivered
 * bytes skipped.
 *
 * ```ts
 * pipeline(ttsSource({ baseUrl, apiKey, text }), reconnect({ retries: 5, stallMs: 5000 }), decode(), speaker());
 * ```
 */
export function reconnect(options: ReconnectOptions = {}): SourceWrapperStage {
  const o = parseOptions('reconnect', schema, options);
  return {
    role: 'source-wrapper',
    name: 'reconnect',
    spec: { stage: 'reconnect', options: JSON.parse(JSON.stringify(o)) as Record<string, unknown> },
    wrap(source) {
      return {
        role: 'source',
        name: source.name,
        gives: source.gives,
        spec: source.spec,
        open: (ctx) => resumingStream(source, ctx, o),
      };
    },
  };
}

interface Connection {
  readonly controller: AbortController;
  reader?: ReadableStreamDefaultReader<Uint8Array>;
  /** Bytes at the front of this connection's body that were delivered before. */
  skip: number;
  /** The whole stream's length, when known. */
  total?: number;
  /** The last byte (of the whole stream) this connection's body should reach, inclusive, when its Content-Range said. */
  end?: number;
  unlink(): void;
}

/** The stream one run reads: as many connections as it takes, joined without gaps or repeats. */
function resumingStream(source: SourceStage<Uint8Array>, ctx: StageContext, o: Options): ReadableStream<Uint8Array> {
  const local = new AbortController();
  ctx.onAbort((reason) => local.abort(reason));
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let delivered = 0;
  let attempt = 0;
  let failures = 0;
  let outageStart: number | undefined;
  let broken: string | undefined; // why the current outage began, when a working connection broke
  let connection: Connection | undefined;
  // What the stream being delivered is, from its first response: every resume must show the same.
  let validator: string | undefined;
  let total: number | undefined;
  let restarts = 0;

  ctx.defer(() => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    if (connection) drop(connection);
  });

  const aborted = () => local.signal.reason ?? new VoxpipeError('aborted', 'The run was aborted', { stage: ctx.stage });

  /** Rejects with a stall error when `promise` takes longer than stallMs; `late` disposes of a value that came too late. */
  function stallGuard<T>(promise: Promise<T>, conn: Connection, late?: (value: T) => void): Promise<T> {
    if (!o.stallMs) return promise;
    return new Promise<T>((resolve, reject) => {
      let stalled = false;
      const timer = setTimeout(() => {
        timers.delete(timer);
        stalled = true;
        const error = new VoxpipeError('network', `The connection stalled: no bytes for ${o.stallMs} ms`, { stage: ctx.stage });
        conn.controller.abort(error);
        reject(error);
      }, o.stallMs);
      timers.add(timer);
      promise.then(
        (value) => {
          clearTimeout(timer);
          timers.delete(timer);
          if (stalled) late?.(value);
          else resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          timers.delete(timer);
          if (!stalled) reject(error);
        },
      );
    });
  }

  async function open(): Promise<Connection> {
    for (;;) {
      const resumable = isResumable(source);
      if (resumable && delivered > 0 && validator === undefined) {
        mismatch('the stream began without a strong ETag, so nothing the server sends can be proven to be the rest of it');
      }
      attempt++;
      const controller = new AbortController();
      const onAbort = () => controller.abort(local.signal.reason);
      local.signal.addEventListener('abort', onAbort, { once: true });
      const conn: Connection = { controller, skip: 0, unlink: () => local.signal.removeEventListener('abort', onAbort) };
      if (broken !== undefined) {
        ctx.emit('reconnect', { attempt, offset: delivered, reason: broken });
        ctx.count('reconnects');
      }
      try {
        if (resumable) {
          const resuming = delivered > 0;
          let response: ResumeResponse;
          try {
            const request = source.resumable.open(ctx, { offset: delivered, validator: resuming ? validator : undefined, attempt, signal: controller.signal });
            response = await stallGuard(request, conn, (late) => void late.body?.cancel().catch(() => {}));
          } catch (error) {
            // The source itself could not make sense of the resumed response (e.g. a 206 without Content-Range).
            if (!(resuming && error instanceof VoxpipeError && error.code === 'resume-mismatch')) throw error;
            drop(conn);
            mismatch(error.message);
            continue;
          }
          if (!useResponse(conn, response)) {
            drop(conn);
            continue;
          }
        } else {
          conn.skip = delivered;
          conn.reader = source.open(innerContext(ctx, controller.signal)).getReader();
        }
        return conn;
      } catch (error) {
        drop(conn);
        throw error;
      }
    }
  }

  /**
   * Takes a response for the stream: the first one says what the stream is
   * (its validator and length); a resumed one is used only when it is proven
   * to be the same stream. Returns false when the stream restarted and must
   * be opened again from its first byte.
   */
  function useResponse(conn: Connection, response: ResumeResponse): boolean {
    const body = () => (response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })).getReader();
    if (delivered > 0) {
      const problem = resumeProblem(response);
      if (problem !== undefined) {
        try {
          mismatch(problem);
        } catch (error) {
          void response.body?.cancel().catch(() => {});
          throw error;
        }
        // Restarted: a 200 is the new stream from its first byte; anything else is opened again from byte 0.
        if (response.status !== 200) {
          void response.body?.cancel().catch(() => {});
          return false;
        }
      }
    }
    if (delivered === 0) {
      validator = response.validator;
      total = response.total;
    }
    const skip = delivered - response.start;
    if (skip < 0) {
      void response.body?.cancel().catch(() => {});
      throw new VoxpipeError('server', `Asked for the stream from byte ${delivered}, the server sent from byte ${response.start}`, { stage: ctx.stage, retryable: false });
    }
    if (skip > 0) ctx.emit('warning', { code: 'range-ignored', message: `The server resent the stream from byte ${response.start}; skipping ${skip} bytes already delivered` });
    if (total === undefined && response.total !== undefined) total = response.total;
    conn.skip = skip;
    conn.total = total;
    conn.end = response.status === 206 ? response.end : undefined;
    conn.reader = body();
    return true;
  }

  /** Why a resumed response cannot be proven to continue the stream delivered so far, or undefined when it can. */
  function resumeProblem(response: ResumeResponse): string | undefined {
    const answer = `the server answered HTTP ${response.status}`;
    if (validator === undefined) return `the stream began without a strong ETag, so ${answer} cannot be proven to be the same stream`;
    if (response.validator === undefined) return `${answer} without an ETag (the stream began with ${validator})`;
    if (response.validator !== validator) return `${answer} for another stream: ETag ${response.validator}, not ${validator}`;
    if (response.status === 206 && response.start !== delivered) return `${answer} with bytes from ${response.start}, not ${delivered}`;
    if (response.status !== 200 && response.status !== 206 && response.status !== 416) return `${answer}, which is not a resume`;
    if (response.total !== undefined && total !== undefined && response.total !== total) return `${answer} for a stream of ${response.total} bytes, not ${total}`;
    if (response.total !== undefined && response.total < delivered) return `${answer} for a stream of ${response.total} bytes, but ${delivered} were delivered`;
    return undefined;
  }

  /**
   * A resume that cannot be proven: fails the run with `resume-mismatch`, or
   * (`onMismatch: 'restart'`) reports `restart` and forgets the stream, so
   * what follows is a new stream from its first byte.
   */
  function mismatch(reason: string): void {
    const at = delivered;
    if (o.onMismatch !== 'restart') {
      throw new VoxpipeError('resume-mismatch', `Cannot resume the stream at byte ${at}: ${reason}`, { stage: ctx.stage, retryable: false });
    }
    if (restarts >= o.retries) {
      throw new VoxpipeError('resume-mismatch', `Cannot resume the stream at byte ${at} and already restarted it ${restarts} times: ${reason}`, { stage: ctx.stage, retryable: false });
    }
    restarts++;
    delivered = 0;
    validator = undefined;
    total = undefined;
    ctx.emit('restart', { offset: at, reason });
    // A consumer that cannot take the restart may abort the run from the event.
    if (local.signal.aborted || ctx.signal.aborted) throw aborted();
  }

  function drop(conn: Connection): void {
    conn.unlink();
    if (!conn.controller.signal.aborted) conn.controller.abort(new VoxpipeError('network', 'Connection dropped', { stage: ctx.stage }));
    void conn.reader?.cancel().catch(() => {});
    if (connection === conn) connection = undefined;
  }

  /** Decides whether to try again after `error`; waits the backoff if so, throws if not. */
  async function recover(error: unknown, wasConnected: boolean): Promise<void> {
    if (local.signal.aborted) throw aborted();
    const failure = classify(error, ctx.stage);
    if (!failure.retryable) throw failure;
    failures++;
    if (outageStart === undefined) {
      outageStart = ctx.now();
      if (wasConnected) broken = failure.message;
    }
    if (failures > o.retries) throw giveUp(failure, `${o.retries} retries used`);
    const delayMs =
      failure.retryAfter !== undefined ? failure.retryAfter * 1000 : wasConnected && failures === 1 ? 0 : backoffMs(o.backoff, failures - (broken ? 1 : 0));
    if (o.timeoutMs !== undefined && ctx.now() - outageStart + delayMs > o.timeoutMs) throw giveUp(failure, `out of time (${o.timeoutMs} ms)`);
    ctx.emit('retry', { attempt: attempt + 1, delayMs, reason: failure.message });
    ctx.count('retries');
    await sleep(delayMs);
  }

  function giveUp(failure: VoxpipeError, why: string): VoxpipeError {
    ctx.emit('give-up', { attempts: attempt, reason: failure.message });
    return new VoxpipeError(failure.code, `Gave up after ${attempt} attempts (${why}): ${failure.message}`, {
      stage: ctx.stage,
      status: failure.status,
      retryAfter: failure.retryAfter,
      cause: failure,
    });
  }

  function sleep(ms: number): Promise<void> {
    if (local.signal.aborted) return Promise.reject(aborted());
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        timers.delete(timer);
        reject(aborted());
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        local.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      timers.add(timer);
      local.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          if (local.signal.aborted) throw aborted();
          const conn = connection;
          if (!conn) {
            try {
              connection = await open();
            } catch (error) {
              await recover(error, false);
            }
            continue;
          }
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await stallGuard(conn.reader!.read(), conn);
            if (result.done) {
              if (conn.skip > 0) throw new VoxpipeError('server', `The resent stream ended ${conn.skip} bytes before the resume point`, { stage: ctx.stage });
              if (conn.total !== undefined && delivered < conn.total) {
                throw new VoxpipeError('network', `The connection ended at byte ${delivered} of ${conn.total}`, { stage: ctx.stage });
              }
              if (conn.end !== undefined && delivered <= conn.end) {
                throw new VoxpipeError('network', `The connection ended at byte ${delivered}, before the end of its range (${conn.end + 1})`, { stage: ctx.stage });
              }
            } else {
              const limit = Math.min(conn.total ?? Infinity, conn.end === undefined ? Infinity : conn.end + 1);
              if (delivered + Math.max(0, result.value.byteLength - conn.skip) > limit) {
                throw new VoxpipeError('server', `The server sent more than the ${limit} bytes it said the stream holds`, { stage: ctx.stage, retryable: false });
              }
            }
          } catch (error) {
            drop(conn);
            await recover(error, true);
            continue;
          }
          if (result.done) {
            conn.unlink();
            connection = undefined;
            return controller.close();
          }
          let chunk = result.value;
          if (conn.skip > 0) {
            const n = Math.min(conn.skip, chunk.byteLength);
            conn.skip -= n;
            chunk = chunk.subarray(n);
          }
          if (chunk.byteLength === 0) continue;
          delivered += chunk.byteLength;
          failures = 0;
          outageStart = undefined;
          broken = undefined;
          ctx.mark('first-byte');
          ctx.count('bytes', chunk.byteLength);
          controller.enqueue(chunk);
          return;
        }
      },
      cancel(reason) {
        local.abort(reason ?? new VoxpipeError('aborted', 'The stream was cancelled', { stage: ctx.stage }));
        if (connection) drop(connection);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Anything a connection threw, as a VoxpipeError; unknown failures count as `network` (retryable). */
function classify(error: unknown, stage: string): VoxpipeError {
  if (error instanceof VoxpipeError) return error;
  if (isAbortError(error)) return new VoxpipeError('network', 'The connection was aborted', { stage, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new VoxpipeError('network', `The connection failed: ${message}`, { stage, cause: error });
}

/** The n-th (1-based) wait of an outage: initial × factor^(n−1), capped at maxMs, spread by ± jitter. */
export function backoffMs(backoff: Options['backoff'], n: number, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, n - 1));
  const spread = 1 + backoff.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * spread));
}

/** The context a non-resumable source is re-opened with: its own signal, and byte counting (and first byte) left to the wrapper. */
function innerContext(ctx: StageContext, signal: AbortSignal): StageContext {
  const scope = createContext({ parent: ctx, signal, shareDeclared: true, keep: ['first-byte', 'bytes'] });
  ctx.defer(() => scope.finish());
  return scope.for(ctx.stage);
}
