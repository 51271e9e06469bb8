import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { pipeline } from '../index.js';
import { concatPcm, silence, type PcmChunk } from '../pcm/pcm.js';
import { assembleFromSpec } from '../spec.js';
import { collect } from '../sinks/collect.js';
import { fromIterable } from '../sources/from-iterable.js';
import { tone } from '../sources/tone.js';
import { arbitraryPcm, cutPcm, pcmPartitions, runAbortedAtAnyPull, runTransform, settleTurns, testContext } from '../testing/index.js';
import { meter } from './meter.js';

const RATE = 24000;

/** `ms` of a sine at `db` dBFS peak, as one chunk. */
async function sine(ms: number, db: number): Promise<PcmChunk> {
  return (await pipeline(tone({ ms, db, frequency: 300 }), collect()).done).value!.pcm!;
}

function levels(events: { type: string; detail: unknown }[]) {
  return events.filter((e) => e.type === 'level').map((e) => e.detail as { rmsDb: number; peakDb: number });
}

describe('meter', () => {
  it('gives the very same chunks on, samples unaltered', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryPcm({ maxFrames: 800 }).chain((pcm) => pcmPartitions(pcm)), fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }), async (parts, every) => {
        const copies = parts.map((p) => p.channels.map((c) => c.slice()));
        const out = await runTransform(meter({ every }), parts, anyPcm);
        expect(out.length).toBe(parts.length);
        out.forEach((c, i) => {
          expect(c).toBe(parts[i]);
          c.channels.forEach((samples, ch) => expect(samples).toEqual(copies[i][ch]));
        });
      }),
      { numRuns: 40 },
    );
  });

  it('marks first-audible at the first chunk above the threshold, with its level', async () => {
    const loud = await sine(100, -12);
    const quiet = await sine(100, -70);
    const input = [silence(RATE, 1, 480), ...cutPcm(quiet, [480, 960]), ...cutPcm(loud, [480])];
    const ctx = testContext('meter');
    await runTransform(meter(), input, anyPcm, ctx);
    expect(ctx.events.map((e) => e.type)).toEqual(['first-audible', 'level']);
    expect(ctx.metrics.firstAudibleMs).toBeDefined();
    const [level] = levels(ctx.events);
    expect(level.rmsDb).toBeCloseTo(-12 - 10 * Math.log10(2), 1); // a sine's RMS is its peak − 3.01 dB
    expect(level.peakDb).toBeCloseTo(-12, 1);

    const never = testContext('meter');
    await runTransform(meter(), [silence(RATE, 1, 100), quiet], anyPcm, never);
    expect(never.events).toEqual([]);
    expect(never.metrics.firstAudibleMs).toBeUndefined();

    const low = testContext('meter');
    await runTransform(meter({ thresholdDb: -80 }), [silence(RATE, 1, 100), quiet], anyPcm, low);
    expect(levels(low.events)[0].rmsDb).toBeCloseTo(-73, 0);
  });

  it('reports first-audible in a real run', async () => {
    const run = pipeline(tone({ ms: 200 }), meter(), collect());
    const { metrics } = await run.done;
    expect(metrics.firstAudibleMs).toBeGreaterThanOrEqual(0);
    expect(run.events.history().filter((e) => e.type === 'first-audible')).toHaveLength(1);
  });

  it('reports levels every N ms of audio', async () => {
    const dc = { sampleRate: RATE, channels: [new Float32Array(2400).fill(0.5), new Float32Array(2400).fill(-0.25)] };
    const ctx = testContext('meter');
    await runTransform(meter({ every: 20, thresholdDb: 0 }), cutPcm(dc, [7, 1000, 1001]), anyPcm, ctx);
    const got = levels(ctx.events);
    expect(got).toHaveLength(5); // 100 ms in 20 ms windows
    for (const level of got) {
      expect(level.rmsDb).toBeCloseTo(10 * Math.log10((0.25 + 0.0625) / 2), 6);
      expect(level.peakDb).toBeCloseTo(20 * Math.log10(0.5), 6);
    }
    const silent = testContext('meter');
    await runTransform(meter({ every: 10 }), [silence(RATE, 1, 240)], anyPcm, silent);
    expect(levels(silent.events)).toEqual([{ rmsDb: -Infinity, peakDb: -Infinity }]);
  });

  it('property: the level events do not depend on how the audio is split', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 1500 }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fc.double({ min: 0.05, max: 30, noNaN: true }),
        async ([pcm, parts], every) => {
          const whole = testContext('meter');
          await runTransform(meter({ every, thresholdDb: 0 }), [pcm], anyPcm, whole);
          const split = testContext('meter');
          const out = await runTransform(meter({ every, thresholdDb: 0 }), parts, anyPcm, split);
          expect(levels(split.events)).toEqual(levels(whole.events));
          if (out.length > 0) expect(concatPcm(out)).toEqual(pcm);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('pushes back behind a stalled reader instead of queueing', async () => {
    // (Not acceptedWhileStalled: on Node 20 a TransformStream's writer.abort() waits forever for the write held by backpressure.)
    const ctx = testContext('meter');
    const stream = meter({ every: 5 }).create(ctx, anyPcm);
    const writer = stream.writable.getWriter();
    let accepted = 0;
    for (let i = 0; i < 20; i++) {
      const write = writer.write(silence(RATE, 1, 480)).then(() => true, () => false);
      if (!(await Promise.race([write, settleTurns(20).then(() => false)]))) break;
      accepted++;
    }
    expect(accepted).toBeLessThanOrEqual(2);
    await stream.readable.cancel();
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('aborts cleanly at any point of a run', () => runAbortedAtAnyPull({ stage: () => meter({ every: 3 }), chunk: () => silence(RATE, 1, 240), format: anyPcm }));

  it('fails with a typed error on bad input', async () => {
    const feed = async (chunks: PcmChunk[]) => {
      const stream = meter().create(testContext('meter'), anyPcm);
      const reading = stream.readable.pipeTo(new WritableStream());
      const writer = stream.writable.getWriter();
      for (const c of chunks) await writer.write(c).catch(() => {});
      return reading;
    };
    await expect(feed([{ sampleRate: RATE, channels: [[1, 2]] } as unknown as PcmChunk])).rejects.toMatchObject({ code: 'format', stage: 'meter' });
    await expect(feed([silence(RATE, 1, 4), silence(RATE, 2, 4)])).rejects.toBeInstanceOf(VoxpipeError);
    expect(() => meter({ thresholdDb: 3 })).toThrow(/meter.*thresholdDb/);
    expect(() => meter({ every: 0 })).toThrow(/meter.*every/);
  });

  it('round-trips its spec through JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ thresholdDb: fc.integer({ min: -120, max: 0 }), every: fc.integer({ min: 1, max: 500 }) }, { requiredKeys: [] }), async (options) => {
        const stage = meter(options);
        const json = JSON.parse(JSON.stringify(stage.spec));
        expect(meter(json.options).spec).toEqual(stage.spec);
        const spec = { stages: [{ stage: 'tone', options: { ms: 60 } }, json, { stage: 'collect' }] };
        const { value } = await assembleFromSpec<{ pcm: PcmChunk }>(spec, { tone, meter, collect }).run().done;
        expect(value!.pcm).toEqual((await pipeline(tone({ ms: 60 }), collect()).done).value!.pcm);
      }),
      { numRuns: 10 },
    );
  });
});
