import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorFromStatus } from './http-error.js';
import type { ResumableSourceStage, ResumeRequest, ResumeResponse } from './resumable.js';
import { VoxpipeError } from '../errors.js';
import { pipeline } from '../pipeline.js';
import { collect } from '../sinks/collect.js';
import type { SourceStage } from '../stage.js';
import { ReadableStream } from '../streams.js';
import { seededBytes } from '../testing/arbitraries.js';
import { settleTurns, testContext } from '../testing/harness.js';
import { reconnect } from './reconnect.js';

/** What one connection of the fake server does. */
type Plan =
  | { kind: 'pass' }
  /** Sends the body until absolute byte `at`, then breaks. */
  | { kind: 'drop'; at: number }
  /** Sends the body until absolute byte `at`, then sends nothing more (until the request is aborted). */
  | { kind: 'stall'; at: number }
  | { kind: 'status'; status: number; retryAfter?: number; message?: string };

/** A resumable in-memory byte server: each open takes the next plan (then passes). Its responses carry `validator` (default `"fake"`; null: none). */
function fakeServer(bytes: Uint8Array, plans: Plan[], options: { honourRange?: boolean; chunk?: number; validator?: string | null } = {}) {
  const log: Array<{ offset: number; attempt: number; validator?: string }> = [];
  const validator = options.validator === null ? undefined : (options.validator ?? '"fake"');
  let open = 0;
  const honour = options.honourRange ?? true;
  const chunk = options.chunk ?? 64;
  const source: ResumableSourceStage = {
    role: 'source',
    name: 'fake',
    gives: { kind: 'bytes' },
    open() {
      throw new Error('reconnect must use resumable.open');
    },
    resumable: {
      async open(_ctx, { offset, attempt, signal, validator: ifRange }) {
        log.push({ offset, attempt, validator: ifRange });
        const plan = plans[open++] ?? { kind: 'pass' };
        if (plan.kind === 'status') {
          const headers = new Headers(plan.retryAfter === undefined ? {} : { 'retry-after': String(plan.retryAfter) });
          throw errorFromStatus(plan.status, JSON.stringify({ error: { message: plan.message ?? 'no' } }), headers, 'fake');
        }
        const start = honour ? offset : 0;
        const end = plan.kind === 'pass' ? bytes.byteLength : Math.max(start, plan.at);
        let position = start;
        const body = new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (position < end) {
                const n = Math.min(chunk, end - position);
                controller.enqueue(bytes.slice(position, position + n));
                position += n;
                return;
              }
              if (plan.kind === 'pass') return controller.close();
              if (plan.kind === 'drop') return controller.error(new TypeError('terminated'));
              return new Promise<void>((_, reject) => {
                if (signal.aborted) reject(signal.reason);
                signal.addEventListener('abort', () => reject(signal.reason), { once: true });
              });
            },
          },
          { highWaterMark: 0 },
        );
        const ranged = honour && offset > 0;
        return { status: ranged ? 206 : 200, start, end: ranged ? bytes.byteLength - 1 : undefined, total: bytes.byteLength, validator, body };
      },
    },
  };
  return { source, log };
}

const fast = { initialMs: 0, maxMs: 0, factor: 1, jitter: 0 };

/** A body of `bytes` in 50-byte chunks that breaks after `breakAt` bytes (when given). */
function bodyOf(bytes: Uint8Array, breakAt?: number): ReadableStream<Uint8Array> {
  let position = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const end = breakAt ?? bytes.byteLength;
        if (position >= end) return breakAt === undefined ? controller.close() : controller.error(new TypeError('terminated'));
        const n = Math.min(50, end - position);
        controller.enqueue(bytes.slice(position, position + n));
        position += n;
      },
    },
    { highWaterMark: 0 },
  );
}

/** A resumable source whose n-th open gives the n-th answer (the last one again after that), recording each request. */
function scripted(answers: Array<(request: ResumeRequest) => ResumeResponse>) {
  const requests: ResumeRequest[] = [];
  const source: ResumableSourceStage = {
    role: 'source',
    name: 'scripted',
    gives: { kind: 'bytes' },
    open() {
      throw new Error('reconnect must use resumable.open');
    },
    resumable: {
      async open(_ctx, request) {
        requests.push(request);
        return answers[Math.min(requests.length - 1, answers.length - 1)](request);
      },
    },
  };
  return { source, requests };
}

const A = seededBytes(1000, 1);
const B = seededBytes(1200, 2);
const firstOfA = (): ResumeResponse => ({ status: 200, start: 0, total: 1000, validator: '"a"', body: bodyOf(A, 100) });

async function collectBytes(source: SourceStage<Uint8Array>, options: Parameters<typeof reconnect>[0]) {
  const run = pipeline(source, reconnect(options), collect({ kind: 'bytes' }));
  const result = await run.done;
  return { bytes: result.value!.bytes!, metrics: result.metrics, events: run.events.history() };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('reconnect', () => {
  it('gives the undisturbed bytes for any drop schedule, with or without Range support', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 700 }),
        async (length, fractions, honourRange, chunk) => {
          const bytes = seededBytes(length, length);
          const points = [...new Set(fractions.map((f) => Math.floor(f * length)))].sort((a, b) => a - b);
          const { source, log } = fakeServer(bytes, points.map((at) => ({ kind: 'drop', at })), { honourRange, chunk });
          const { bytes: got, metrics, events } = await collectBytes(source, { retries: 10, backoff: fast });
          expect(got).toEqual(bytes);
          expect(metrics.bytes).toBe(length);
          expect(log.length).toBe(points.length + 1);
          // every re-open asked for exactly the bytes delivered so far
          expect(log.slice(1).map((l) => l.offset)).toEqual(points);
          expect(events.filter((e) => e.type === 'reconnect').length).toBe(points.length);
          expect(metrics.reconnects).toBe(points.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('skips what was delivered when the server answers 200 instead of 206, and says so', async () => {
    const bytes = seededBytes(1000);
    const { source } = fakeServer(bytes, [{ kind: 'drop', at: 333 }], { honourRange: false, chunk: 100 });
    const { bytes: got, events } = await collectBytes(source, { backoff: fast });
    expect(got).toEqual(bytes);
    const warning = events.find((e) => e.type === 'warning');
    expect(warning?.detail).toMatchObject({ code: 'range-ignored' });
  });

  it('resumes a stalled connection', async () => {
    const bytes = seededBytes(2000);
    const { source, log } = fakeServer(bytes, [{ kind: 'stall', at: 777 }, { kind: 'stall', at: 777 }], { chunk: 50 });
    // Far past any pause a busy machine puts between two in-memory reads, so only the planned stalls count.
    const { bytes: got, events } = await collectBytes(source, { stallMs: 1000, backoff: fast });
    expect(got).toEqual(bytes);
    expect(log.map((l) => l.offset)).toEqual([0, 777, 777]);
    const reconnects = events.filter((e) => e.type === 'reconnect');
    expect(reconnects.map((e) => e.detail)).toEqual([
      { attempt: 2, offset: 777, reason: expect.stringMatching(/stalled/) },
      { attempt: 3, offset: 777, reason: expect.stringMatching(/stalled/) },
    ]);
  });

  it('retries 429 and 503 before the first byte, honouring Retry-After', async () => {
    const bytes = seededBytes(300);
    const { source, log } = fakeServer(bytes, [
      { kind: 'status', status: 429, retryAfter: 0.02 },
      { kind: 'status', status: 503, retryAfter: 0.01 },
      { kind: 'status', status: 502 },
    ]);
    // Retry-After wins over the backoff (5, 10, 20 ms) where the server sent it
    const { bytes: got, events, metrics } = await collectBytes(source, { backoff: { initialMs: 5, jitter: 0 } });
    expect(got).toEqual(bytes);
    expect(log.length).toBe(4);
    const retries = events.filter((e) => e.type === 'retry').map((e) => e.detail);
    expect(retries).toEqual([
      { attempt: 2, delayMs: 20, reason: expect.stringMatching(/429/) },
      { attempt: 3, delayMs: 10, reason: expect.stringMatching(/503/) },
      { attempt: 4, delayMs: 20, reason: expect.stringMatching(/502/) },
    ]);
    expect(metrics.retries).toBe(3);
    expect(metrics.reconnects).toBe(0);
  });

  it.each([
    [400, 'bad-request'],
    [401, 'auth'],
    [403, 'auth'],
    [413, 'bad-request'],
    [404, 'bad-request'],
  ] as const)('never retries HTTP %i (%s)', async (status, code) => {
    const { source, log } = fakeServer(seededBytes(10), [{ kind: 'status', status, message: 'the server said why' }]);
    const run = pipeline(source, reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
    const error = await run.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe(code);
    expect((error as VoxpipeError).status).toBe(status);
    expect(log.length).toBe(1);
    expect(run.events.history().some((e) => e.type === 'retry')).toBe(false);
  });

  it('gives up after the retry budget with a typed error and a give-up event', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.boolean(), async (retries, midStream) => {
        const bytes = seededBytes(500);
        // mid-stream: the first connection delivers 100 bytes, then every connection breaks at once
        const plans: Plan[] = midStream
          ? [{ kind: 'drop', at: 100 }, ...Array.from({ length: 20 }, (): Plan => ({ kind: 'drop', at: 0 }))]
          : Array.from({ length: 20 }, (): Plan => ({ kind: 'status', status: 503 }));
        const { source, log } = fakeServer(bytes, plans);
        const run = pipeline(source, reconnect({ retries, backoff: fast }), collect({ kind: 'bytes' }));
        const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
        expect(error).toBeInstanceOf(VoxpipeError);
        expect(error.code).toBe(midStream ? 'network' : 'server');
        expect(error.message).toMatch(/Gave up after/);
        const opens = retries + 1; // the first failure, then `retries` more
        expect(log.length).toBe(opens);
        const giveUp = run.events.history().find((e) => e.type === 'give-up');
        expect(giveUp?.detail).toMatchObject({ attempts: opens });
        expect(run.events.history().at(-1)?.detail).toEqual({ outcome: 'error' });
      }),
      { numRuns: 15 },
    );
  });

  it('gives up when an outage outlasts timeoutMs', async () => {
    const { source, log } = fakeServer(seededBytes(10), Array.from({ length: 50 }, (): Plan => ({ kind: 'status', status: 500 })));
    const run = pipeline(source, reconnect({ retries: 50, timeoutMs: 100, backoff: { initialMs: 40, factor: 2, jitter: 0 } }), collect({ kind: 'bytes' }));
    const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(error.code).toBe('server');
    expect(error.message).toMatch(/out of time/);
    expect(log.length).toBe(2); // waits 40 ms once; the next 80 ms wait would pass 100 ms
  });

  it('stops at once when aborted during a backoff wait, leaving no timer behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { source, log } = fakeServer(seededBytes(10), [{ kind: 'status', status: 503 }]);
    const run = pipeline(source, reconnect({ backoff: { initialMs: 600_000, maxMs: 600_000 } }), collect({ kind: 'bytes' }));
    const retry = await run.events.once('retry');
    expect(retry.detail.delayMs).toBeGreaterThanOrEqual(480_000);
    expect(vi.getTimerCount()).toBe(1);
    run.abort();
    const result = await run.done;
    expect(result.outcome).toBe('aborted');
    expect(vi.getTimerCount()).toBe(0);
    expect(log.length).toBe(1);
  });

  it('aborting at any point ends the run with no timer left', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 3 }), async (abortAfter, drops) => {
        const points = [...new Set(drops)].sort((a, b) => a - b);
        const { source } = fakeServer(seededBytes(2000), points.map((at) => ({ kind: 'drop', at })), { chunk: 50 });
        let seen = 0;
        const sink = collect({ kind: 'bytes' });
        const run = pipeline(source, reconnect({ backoff: fast }), sink);
        run.events.on('*', () => {
          if (seen++ === abortAfter) run.abort();
        });
        const result = await run.done;
        expect(['aborted', 'completed']).toContain(result.outcome);
        expect(vi.getTimerCount()).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('re-opens a source without a resumable capability from the start and skips what it delivered', async () => {
    const bytes = seededBytes(1500);
    let opens = 0;
    const schedule = [400, 401, 1200];
    const plain: SourceStage<Uint8Array> = {
      role: 'source',
      name: 'plain',
      gives: { kind: 'bytes' },
      open(ctx) {
        const stopAt = schedule[opens++] ?? Infinity;
        let position = 0;
        return new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (position >= stopAt) return controller.error(new TypeError('reset'));
              if (position >= bytes.length) return controller.close();
              const n = Math.min(97, bytes.length - position, stopAt - position);
              ctx.count('bytes', n); // the wrapper ignores the inner count: it counts what it delivers
              controller.enqueue(bytes.slice(position, position + n));
              position += n;
            },
          },
          { highWaterMark: 0 },
        );
      },
    };
    const { bytes: got, metrics } = await collectBytes(plain, { backoff: fast });
    expect(got).toEqual(bytes);
    expect(metrics.bytes).toBe(1500);
    expect(metrics.reconnects).toBe(3);
  });

  it('reads no further ahead than its consumer: one chunk behind a stalled reader', async () => {
    let pulled = 0;
    const bytes = seededBytes(10_000);
    const counting: SourceStage<Uint8Array> = {
      role: 'source',
      name: 'counting',
      gives: { kind: 'bytes' },
      open: () =>
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (pulled * 100 >= bytes.length) return controller.close();
              controller.enqueue(bytes.slice(pulled * 100, ++pulled * 100));
            },
          },
          { highWaterMark: 0 },
        ),
    };
    const ctx = testContext('counting');
    const reader = reconnect().wrap(counting).open(ctx).getReader();
    expect((await reader.read()).value).toEqual(bytes.slice(0, 100));
    await settleTurns(20);
    expect(pulled).toBeLessThanOrEqual(2);
    await reader.cancel();
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('sends the first response\'s validator with every resume', async () => {
    const bytes = seededBytes(1000);
    const { source, log } = fakeServer(bytes, [{ kind: 'drop', at: 100 }, { kind: 'drop', at: 500 }], { validator: '"v1"' });
    const { bytes: got } = await collectBytes(source, { backoff: fast });
    expect(got).toEqual(bytes);
    expect(log.map((l) => l.validator)).toEqual([undefined, '"v1"', '"v1"']);
  });

  it('fails with resume-mismatch, asking nothing more, when the stream began without a strong ETag', async () => {
    for (const honourRange of [true, false]) {
      const { source, log } = fakeServer(seededBytes(1000), [{ kind: 'drop', at: 100 }], { validator: null, honourRange });
      const run = pipeline(source, reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
      const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error).toMatchObject({ code: 'resume-mismatch', retryable: false });
      expect(error.message).toMatch(/byte 100.*without a strong ETag/);
      expect(log.length).toBe(1);
      expect(run.metrics.bytes).toBe(100);
    }
  });

  it.each([
    ['a 206 of another stream', (): ResumeResponse => ({ status: 206, start: 100, end: 1199, total: 1200, validator: '"b"', body: bodyOf(B.subarray(100)) }), /ETag "b", not "a"/],
    ['a 200 of another stream', (): ResumeResponse => ({ status: 200, start: 0, total: 1200, validator: '"b"', body: bodyOf(B) }), /ETag "b", not "a"/],
    ['a 206 without an ETag', (): ResumeResponse => ({ status: 206, start: 100, end: 999, total: 1000, body: bodyOf(A.subarray(100)) }), /without an ETag/],
    ['a 200 without an ETag', (): ResumeResponse => ({ status: 200, start: 0, total: 1000, body: bodyOf(A) }), /without an ETag/],
    ['a 206 from another byte', (): ResumeResponse => ({ status: 206, start: 50, end: 999, total: 1000, validator: '"a"', body: bodyOf(A.subarray(50)) }), /from 50, not 100/],
    ['a 206 of another length', (): ResumeResponse => ({ status: 206, start: 100, end: 1099, total: 1100, validator: '"a"', body: bodyOf(A.subarray(100)) }), /1100 bytes, not 1000/],
    ['a 416 of another stream', (): ResumeResponse => ({ status: 416, start: 100, total: 100, validator: '"b"', body: null }), /ETag "b"/],
  ] as const)('never splices %s on: resume-mismatch, not retried', async (_name, answer, why) => {
    const { source, requests } = scripted([firstOfA, answer]);
    const run = pipeline(source, reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
    const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(error).toMatchObject({ code: 'resume-mismatch', retryable: false, stage: 'scripted' });
    expect(error.message).toMatch(why);
    expect(requests.map((r) => [r.offset, r.validator])).toEqual([[0, undefined], [100, '"a"']]);
    expect(run.metrics.bytes).toBe(100);
    expect(run.events.history().some((e) => e.type === 'restart')).toBe(false);
  });

  it('takes a resume that is proven: the same ETag, from the byte asked for, of the same length', async () => {
    for (const answer of [
      (): ResumeResponse => ({ status: 206, start: 100, end: 999, total: 1000, validator: '"a"', body: bodyOf(A.subarray(100)) }),
      (): ResumeResponse => ({ status: 206, start: 100, end: 999, validator: '"a"', body: bodyOf(A.subarray(100)) }),
      (): ResumeResponse => ({ status: 200, start: 0, total: 1000, validator: '"a"', body: bodyOf(A) }),
    ]) {
      const { source } = scripted([firstOfA, answer]);
      expect((await collectBytes(source, { backoff: fast })).bytes).toEqual(A);
    }
    // a drop just after the last byte: a 416 with the same ETag says nothing is left
    const { source } = scripted([() => ({ status: 200, start: 0, validator: '"a"', body: bodyOf(A, 1000) }), () => ({ status: 416, start: 1000, total: 1000, validator: '"a"', body: null })]);
    expect((await collectBytes(source, { backoff: fast })).bytes).toEqual(A);
  });

  it('restarts instead, when asked: a restart event, then the new stream from its first byte', async () => {
    // the other stream as a 206 is dropped and asked for again from byte 0; as a 200 it is taken as it is
    const cases = [
      { answers: [firstOfA, () => ({ status: 206, start: 100, end: 1199, total: 1200, validator: '"b"', body: bodyOf(B.subarray(100)) }), () => ({ status: 200, start: 0, total: 1200, validator: '"b"', body: bodyOf(B) })], opens: [[0, undefined], [100, '"a"'], [0, undefined]] },
      { answers: [firstOfA, () => ({ status: 200, start: 0, validator: '"b"', body: bodyOf(B) })], opens: [[0, undefined], [100, '"a"']] },
      { answers: [() => ({ status: 200, start: 0, body: bodyOf(A, 100) }), () => ({ status: 200, start: 0, body: bodyOf(B) })], opens: [[0, undefined], [0, undefined]] },
    ] satisfies Array<{ answers: Array<(r: ResumeRequest) => ResumeResponse>; opens: unknown[] }>;
    for (const { answers, opens } of cases) {
      const { source, requests } = scripted(answers);
      const run = pipeline(source, reconnect({ backoff: fast, onMismatch: 'restart' }), collect({ kind: 'bytes' }));
      const { value } = await run.done;
      const restart = run.events.history().find((e) => e.type === 'restart');
      expect(restart?.detail).toMatchObject({ offset: 100 });
      const got = value!.bytes!;
      expect(got.subarray(0, 100)).toEqual(A.subarray(0, 100));
      expect(got.subarray(100)).toEqual(B);
      expect(requests.map((r) => [r.offset, r.validator])).toEqual(opens);
    }
  });

  it('restarts at most `retries` times, then fails with resume-mismatch', async () => {
    let n = 0;
    const { source, requests } = scripted([() => ({ status: 200, start: 0, validator: `"${n++}"`, body: bodyOf(A, 100) })]);
    const run = pipeline(source, reconnect({ retries: 3, backoff: fast, onMismatch: 'restart' }), collect({ kind: 'bytes' }));
    const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(error).toMatchObject({ code: 'resume-mismatch', retryable: false });
    expect(error.message).toMatch(/restarted it 3 times/);
    expect(run.events.history().filter((e) => e.type === 'restart').length).toBe(3);
    // the first stream, three restarted ones (each taken from its 200), and the answer that would have been a fourth
    expect(requests.length).toBe(5);
  });

  it('lets the consumer abort at the restart event: nothing of the new stream is delivered', async () => {
    const { source } = scripted([firstOfA, () => ({ status: 200, start: 0, validator: '"b"', body: bodyOf(B) })]);
    const run = pipeline(source, reconnect({ backoff: fast, onMismatch: 'restart' }), collect({ kind: 'bytes' }));
    run.events.on('restart', () => run.abort());
    expect((await run.done).outcome).toBe('aborted');
    expect(run.metrics.bytes).toBe(100);
  });

  it('checks its options and writes them back as data', () => {
    expect(() => reconnect({ retries: -1 })).toThrow(/reconnect.*retries/);
    expect(() => reconnect({ backoff: { jitter: 2 } })).toThrow(/reconnect.*jitter/);
    expect(() => reconnect({ onMismatch: 'splice' as 'fail' })).toThrow(/reconnect.*onMismatch/);
    expect(reconnect({ retries: 3 }).spec).toEqual({
      stage: 'reconnect',
      options: { retries: 3, backoff: { initialMs: 200, maxMs: 5000, factor: 2, jitter: 0.2 }, stallMs: 10000, onMismatch: 'fail' },
    });
  });
});
