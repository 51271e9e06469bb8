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
});

export type ReconnectOptions = v.InferInput<typeof schema>;
type Options = v.InferOutput<typeof schema>;

/**
 * Wraps a byte source so a dropped, reset or stalled connection is resumed
 * where it broke: it re-opens with `Range: bytes=<delivered>-` (skipping what
 * was already delivered when the server answers 200 instead of 206), so no
 * byte is lost or repeated. Failed requests before the first byte are retried
 * for 429, 5xx and network errors (honouring Retry-After), never for other
 * 4xx. Backoff is exponential with jitter; `retries` and `timeoutMs` bound
 * each outage. Reports `retry` (each wait), `reconnect` (each re-open after a
 * broken connection) and `give-up`. Sources without a `resumable` capability
 * are re-opened from the start and the delivered bytes skipped.
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
      if (isResumable(source)) {
        const request = source.resumable.open(ctx, { offset: delivered, attempt, signal: controller.signal });
        const response = await stallGuard(request, conn, (late) => void late.body?.cancel().catch(() => {}));
        useResponse(conn, response);
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

  function useResponse(conn: Connection, response: ResumeResponse): void {
    const skip = delivered - response.start;
    if (skip < 0) {
      void response.body?.cancel().catch(() => {});
      throw new VoxpipeError('server', `Asked to resume at byte ${delivered}, the server sent from byte ${response.start}`, { stage: ctx.stage, retryable: false });
    }
    if (skip > 0) ctx.emit('warning', { code: 'range-ignored', message: `The server resent the stream from byte ${response.start}; skipping ${skip} bytes already delivered` });
    conn.skip = skip;
    conn.total = response.total;
    conn.reader = (response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })).getReader();
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
