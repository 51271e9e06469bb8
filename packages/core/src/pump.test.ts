import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pump } from './pump.js';
import type { StageSink } from './stage.js';
import { ReadableStream, WritableStream } from './streams.js';

/** What can happen around one pipe: where the source fails, where and how the sink fails, which writes wait, when the run aborts. */
interface Scenario {
  chunks: number;
  sourceFailsAt: number | undefined;
  sinkFails: { at: number; how: 'throw' | 'reject' | 'controller' } | undefined;
  startFails: boolean;
  closeFails: boolean;
  slow: boolean[];
  abortAt: number | undefined;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  chunks: fc.integer({ min: 0, max: 8 }),
  sourceFailsAt: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
  sinkFails: fc.option(fc.record({ at: fc.integer({ min: 0, max: 8 }), how: fc.constantFrom('throw' as const, 'reject' as const, 'controller' as const) }), { nil: undefined }),
  startFails: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  closeFails: fc.boolean(),
  slow: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
  abortAt: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
});

/** One pipe of the scenario through `pipe`: the log of what the source and sink saw, and how the pipe settled. */
async function runScenario(s: Scenario, pipe: (readable: ReadableStream<unknown>, sink: StageSink<unknown>, signal: AbortSignal) => Promise<void>) {
  const log: string[] = [];
  const controller = new AbortController();
  let pulls = 0;
  const readable = new ReadableStream<number>(
    {
      pull(c) {
        const n = pulls++;
        if (n === s.abortAt) controller.abort('stop');
        if (n === s.sourceFailsAt) return c.error(new Error(`source failed at ${n}`));
        if (n >= s.chunks) return c.close();
        c.enqueue(n);
      },
      cancel(reason) {
        log.push(`cancel ${String((reason as Error)?.message ?? reason)}`);
      },
    },
    { highWaterMark: 0 },
  );
  let writes = 0;
  const sink: StageSink<unknown> = {
    start(c) {
      log.push('start');
      c.signal.addEventListener('abort', () => log.push(`signal ${String(c.signal.reason)}`));
      if (s.startFails) return Promise.reject(new Error('start failed')); // (thrown, a WritableStream's constructor would throw it)
    },
    write(chunk, c) {
      const n = writes++;
      log.push(`write ${String(chunk)}`);
      if (s.sinkFails?.at === n) {
        if (s.sinkFails.how === 'throw') throw new Error(`write failed at ${n}`);
        if (s.sinkFails.how === 'reject') return Promise.reject(new Error(`write failed at ${n}`));
        c.error(new Error(`sink stopped at ${n}`));
        return;
      }
      if (s.slow[n % s.slow.length]) return new Promise<void>((resolve) => setTimeout(resolve, 0));
    },
    close() {
      log.push('close');
      if (s.closeFails) return Promise.reject(new Error('close failed'));
    },
    abort(reason) {
      log.push(`abort ${String((reason as Error)?.message ?? reason)}`);
    },
  };
  const settled = await pipe(readable, sink, controller.signal).then(
    () => 'resolved',
    (error: unknown) => `rejected ${String((error as Error)?.message ?? error)}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 0)); // cancellations reach the source
  return { log, settled };
}

const pipeTo = (readable: ReadableStream<unknown>, sink: StageSink<unknown>, signal: AbortSignal) => readable.pipeTo(new WritableStream(sink), { signal });

describe('pump', () => {
  /** Scenarios with at most one thing going wrong: no race between two endings, so the pipe's course is one. */
  const oneEnding = scenarioArb.filter((s) => [s.sourceFailsAt !== undefined, s.sinkFails !== undefined, s.startFails, s.closeFails, s.abortAt !== undefined].filter(Boolean).length <= 1);

  it('property: with one ending at most (the source or the sink failing, or an abort), the sink sees the calls and the pipe settles as pipeTo into a WritableStream', async () => {
    await fc.assert(
      fc.asyncProperty(oneEnding, async (s) => {
        const pumped = await runScenario(s, pump);
        const piped = await runScenario(s, pipeTo);
        // the sink's calls, their order and the outcome are the pipe's
        expect(pumped.settled).toBe(piped.settled);
        expect(pumped.log.filter((l) => !l.startsWith('cancel'))).toEqual(piped.log.filter((l) => !l.startsWith('cancel')));
        // the source is cancelled whenever the pipe cancels it, with the same reason; an abort cancels it a turn later,
        // so also when it closed itself in the pull that aborted (the pipe cancels after a few more turns: by then it is closed)
        const cancels = (log: string[]) => log.filter((l) => l.startsWith('cancel'));
        expect(cancels(pumped.log)).toEqual(expect.arrayContaining(cancels(piped.log)));
        for (const cancel of cancels(pumped.log)) if (!cancels(piped.log).includes(cancel)) expect(cancel).toBe('cancel stop');
      }),
      { numRuns: 300 },
    );
  });

  it('property: whatever goes wrong together, the sink is started first, given the chunks in order once each, then closed or aborted once at most; its own failure never aborts it; the pipe resolves only when it closed', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { log, settled } = await runScenario(s, pump);
        const calls = log.filter((l) => !l.startsWith('cancel') && !l.startsWith('signal'));
        expect(calls[0]).toBe('start');
        const writes = calls.filter((l) => l.startsWith('write'));
        expect(writes).toEqual(writes.map((_, i) => `write ${i}`));
        const endings = calls.filter((l) => l === 'close' || l.startsWith('abort'));
        expect(endings.length).toBeLessThanOrEqual(1);
        expect(calls.indexOf(endings[0] ?? '')).toBe(endings.length === 0 ? -1 : calls.length - 1); // nothing after its ending
        const sinkFailed = /rejected (write failed|sink stopped|start failed|close failed)/.test(settled);
        if (sinkFailed) expect(endings.filter((e) => e.startsWith('abort'))).toEqual([]);
        if (settled === 'resolved') expect(endings).toEqual(['close']);
        if (endings[0]?.startsWith('abort')) expect(settled).toBe(`rejected ${endings[0].slice('abort '.length)}`);
        if (settled === 'rejected stop' && endings[0] !== 'close') expect(log).toContain('signal stop');
      }),
      { numRuns: 300 },
    );
  });

  it('reads one chunk at a time: the next read waits for the write in flight', async () => {
    let pulls = 0;
    let inFlight = false;
    const pulledDuringWrite: number[] = [];
    const readable = new ReadableStream<number>({ pull: (c) => (inFlight && pulledDuringWrite.push(pulls), pulls < 5 ? c.enqueue(pulls++) : c.close()) }, { highWaterMark: 0 });
    await pump(
      readable,
      {
        write: async () => {
          inFlight = true;
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight = false;
        },
      },
      new AbortController().signal,
    );
    expect(pulls).toBe(5);
    expect(pulledDuringWrite).toEqual([]);
  });
});
