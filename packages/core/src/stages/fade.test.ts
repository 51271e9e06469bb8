import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { pipeline } from '../index.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { tone } from '../sources/tone.js';
import type { SourceStage } from '../stage.js';
import { ReadableStream } from '../streams.js';
import { arbitraryPcm, cutPcm, pcmPartitions } from '../testing/arbitraries.js';
import { acceptedAfterReads, failureOf, runTransform, testContext } from '../testing/harness.js';
import { endlessSource } from '../testing/endless-source.js';
import { fade, type FadeControl, type FadeStage } from './fade.js';
import * as abortKit from '../testing/index.js';

const RATE = 8000;
const frameCount = (ms: number) => Math.round((ms * RATE) / 1000);
const ones = (n: number, channels = 1): PcmChunk => ({ sampleRate: RATE, channels: Array.from({ length: channels }, () => new Float32Array(n).fill(1)) });

/** The documented gain of frame q of a T-frame stream (a fade-out asked at frame stopAt, if any). */
function gainAt(q: number, total: number, nIn: number, nOut: number, fadeEnd: boolean, stopAt?: number): number {
  let g = nIn > 0 && q < nIn ? q / nIn : 1;
  if (stopAt !== undefined) g = Math.min(g, (stopAt + nOut - 1 - q) / nOut);
  if (fadeEnd && nOut > 0) g = Math.min(g, (total - 1 - q) / nOut);
  return g;
}

const largestStep = (samples: Float32Array) => samples.reduce((most, x, i) => (i === 0 ? most : Math.max(most, Math.abs(x - samples[i - 1]))), 0);

/**
 * Runs `stage` over `parts` with a reader always waiting; asks the run's
 * control for `fadeOut()` after part `stopAfter` was taken (−1: before the first). Returns the
 * output and the stage's position (frames given) when the fade-out was asked.
 */
async function runStopping(stage: FadeStage, parts: PcmChunk[], stopAfter: number) {
  const ctx = testContext('fade');
  const stream = stage.create(ctx, anyPcm);
  const out: PcmChunk[] = [];
  const reading = (async () => {
    const reader = stream.readable.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out.push(value);
    }
  })();
  const writer = stream.writable.getWriter();
  const control = ctx.control<FadeControl>()!;
  let refused = false;
  let givenAtStop = 0;
  if (stopAfter < 0) control.fadeOut();
  for (let i = 0; i < parts.length; i++) {
    try {
      await writer.write(parts[i]);
    } catch {
      refused = true;
      break;
    }
    if (i === stopAfter) {
      givenAtStop = out.reduce((n, c) => n + c.channels[0].length, 0);
      control.fadeOut();
    }
  }
  if (!refused) await writer.close().catch(() => {});
  await reading;
  ctx.finish();
  return { out: concatPcm(out, RATE, parts[0]?.channels.length ?? 1), givenAtStop, refused, ctx };
}

const fadeMs = fc.integer({ min: 0, max: 30 });

describe('fade', () => {
  it('applies the documented linear ramps, for any split of the audio', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 700, maxChannels: 2, sampleRates: [RATE] }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fadeMs,
        fadeMs,
        fc.boolean(),
        async ([pcm, parts], inMs, outMs, fadeEnd) => {
          const n = pcm.channels[0].length;
          const out = await runTransform(fade({ inMs, outMs, fadeEnd }), parts, anyPcm);
          const joined = concatPcm(out, RATE, pcm.channels.length).channels;
          const expected = pcm.channels.map((samples) => samples.map((x, q) => x * gainAt(q, n, frameCount(inMs), frameCount(outMs), fadeEnd)));
          expect(joined).toEqual(expected);
          const once = await runTransform(fade({ inMs, outMs, fadeEnd }), [pcm], anyPcm);
          expect(concatPcm(once, RATE, pcm.channels.length).channels).toEqual(joined);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('is click-free: starts and ends silent and never steps by more than one ramp step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 900 }), fc.array(fc.nat(900)), async (inMs, outMs, n, cuts) => {
        const out = await runTransform(fade({ inMs, outMs }), cutPcm(ones(n), cuts), anyPcm);
        const samples = concatPcm(out, RATE, 1).channels[0];
        expect(samples.length).toBe(n);
        expect(samples[0]).toBe(0);
        expect(samples[n - 1]).toBe(0);
        expect(largestStep(samples)).toBeLessThanOrEqual(Math.max(1 / frameCount(inMs), 1 / frameCount(outMs)) + 1e-6);
      }),
      { numRuns: 100 },
    );
  });

  it('fadeOut() ramps the next outMs to silence and ends the stream there, click-free, for any split and moment', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 900 }).chain((n) => fc.tuple(pcmPartitions(ones(n)), fc.integer({ min: -1, max: 40 }))),
        fadeMs,
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        async ([parts, stopAfter], inMs, outMs, fadeEnd) => {
          const total = parts.reduce((sum, c) => sum + c.channels[0].length, 0);
          const nIn = frameCount(inMs);
          const nOut = frameCount(outMs);
          const stopping = stopAfter < parts.length;
          const { out, givenAtStop } = await runStopping(fade({ inMs, outMs, fadeEnd }), parts, stopAfter);
          const samples = out.channels[0];
          const stopAt = stopping ? givenAtStop : undefined;
          const length = stopAt === undefined ? total : Math.min(total, stopAt + nOut);
          expect(samples.length).toBe(length);
          expect([...samples]).toEqual([...samples].map((_, q) => Math.fround(gainAt(q, total, nIn, nOut, fadeEnd, stopAt))));
          if (stopping && (fadeEnd || length === stopAt! + nOut)) {
            expect(samples[length - 1]).toBe(0);
            expect(largestStep(samples)).toBeLessThanOrEqual(Math.max(nIn > 0 ? 1 / nIn : 0, 1 / nOut) + 1e-6);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('fadeOut() fades the audio it holds back at once, so a stop costs no more than outMs', async () => {
    const f = fade({ inMs: 0, outMs: 20 });
    const { out, givenAtStop } = await runStopping(f, Array.from({ length: 20 }, () => ones(80)), 9);
    expect(givenAtStop).toBe(800 - 160);
    expect(out.channels[0].length).toBe(800);
    expect(out.channels[0][639]).toBe(1);
    expect(out.channels[0][640]).toBeCloseTo(159 / 160, 6);
    expect(out.channels[0][799]).toBe(0);
  });

  it('fadeOut() in a real pipeline ends the run cleanly and cancels the endless source', async () => {
    const f = fade({ inMs: 5, outMs: 20 });
    const endless = endlessSource({ kind: 'pcm', sampleRate: RATE, channels: 2 }, () => ones(64, 2), (pull) => {
      if (pull === 30) run.control(f)!.fadeOut();
    });
    const run = pipeline(endless, f, collect());
    const { outcome, value } = await run.done;
    expect(outcome).toBe('completed');
    expect(endless.cancelled).toBe(true);
    const [left, right] = value!.pcm!.channels;
    expect(left.length).toBeGreaterThan(20 * 64);
    expect(left.length).toBeLessThan(31 * 64 + 160);
    expect(right).toEqual(left);
    expect(left[left.length - 1]).toBe(0);
    expect(left[left.length - 161]).toBe(1);
    expect(largestStep(left)).toBeLessThanOrEqual(1 / 40 + 1e-6);
    run.control(f)!.fadeOut(); // the run is over: nothing to stop, nothing thrown
  });

  it('fadeOut() reaches one run only: two runs of the same stage, one stopped, the other plays to its end', async () => {
    const f = fade({ inMs: 0, outMs: 20 });
    const endless = endlessSource({ kind: 'pcm', sampleRate: RATE, channels: 1 }, () => ones(64), (pull) => {
      if (pull !== 10) return;
      expect(stopped.control(f)).not.toBe(playing.control(f));
      stopped.control(f)!.fadeOut();
    });
    const playing = pipeline(tone({ ms: 300, sampleRate: RATE, frequency: 440 }), f, collect());
    const stopped = pipeline(endless, f, collect());
    const [a, b] = await Promise.all([stopped.done, playing.done]);
    expect(a.outcome).toBe('completed');
    expect(a.value!.pcm!.channels[0].at(-1)).toBe(0);
    expect(a.value!.pcm!.channels[0].length).toBeLessThan(11 * 64 + 160);
    const alone = await pipeline(tone({ ms: 300, sampleRate: RATE, frequency: 440 }), fade({ inMs: 0, outMs: 20 }), collect()).done;
    expect(b.value!.pcm!.channels[0].length).toBe(2400);
    expect(b.value!.pcm!.channels[0]).toEqual(alone.value!.pcm!.channels[0]);
  });

  it('fades a tone in a real pipeline, and the stage can run again', async () => {
    const f = fade({ inMs: 10, outMs: 50 });
    for (let run = 0; run < 2; run++) {
      const { value } = await pipeline(tone({ ms: 200, sampleRate: RATE, frequency: 0 }), f, collect()).done;
      expect(value!.pcm!.channels[0].length).toBe(1600);
    }
    const plain = (await pipeline(tone({ ms: 500 }), collect()).done).value!.pcm!.channels[0];
    const faded = (await pipeline(tone({ ms: 500 }), fade({ inMs: 10, outMs: 50 }), collect()).done).value!.pcm!.channels[0];
    expect(faded.length).toBe(plain.length);
    expect(faded[0]).toBe(0);
    expect(Math.abs(faded[faded.length - 1])).toBe(0);
    expect(faded.subarray(240, 12000 - 1200)).toEqual(plain.subarray(240, 12000 - 1200));
  });

  it('stops cleanly when the run is aborted, leaving nothing to stop', async () => {
    const f = fade({ outMs: 20 });
    const source = endlessSource({ kind: 'pcm', sampleRate: RATE, channels: 1 }, () => ones(64), (pull) => {
      if (pull === 10) run.abort();
    });
    const run = pipeline(source, f, collect());
    expect((await run.done).outcome).toBe('aborted');
    expect(source.cancelled).toBe(true);
    expect(() => run.control(f)!.fadeOut()).not.toThrow();
  });

  it('holds back no more than outMs behind a stalled reader', async () => {
    const chunks = Array.from({ length: 100 }, () => ones(10));
    expect(await acceptedAfterReads(fade({ outMs: 20 }), chunks, anyPcm)).toBeLessThanOrEqual(1);
    // One read waiting: it takes 160 frames (20 ms at 8 kHz) to hold back, plus the one it gives.
    const ctx = testContext('fade');
    const accepted = await acceptedAfterReads(fade({ outMs: 20 }), chunks, anyPcm, 1, ctx);
    expect(accepted).toBeGreaterThanOrEqual(16);
    expect(accepted).toBeLessThanOrEqual(18);
    expect(ctx.pendingCleanups()).toBe(0);
    expect(await acceptedAfterReads(fade({ outMs: 20, fadeEnd: false }), chunks, anyPcm, 1)).toBeLessThanOrEqual(2);
  });

  it('keeps its format, round-trips its spec, and rejects bad options and chunks with typed errors', async () => {
    const format = { kind: 'pcm' as const, sampleRate: 24000, channels: 1 };
    expect(fade().gives(format)).toEqual(format);
    const stage = fade({ inMs: 3, outMs: 40, fadeEnd: false });
    expect(fade(JSON.parse(JSON.stringify(stage.spec)).options).spec).toEqual(stage.spec);
    expect(fade().spec).toEqual({ stage: 'fade', options: { inMs: 5, outMs: 10, fadeEnd: true } });
    for (const bad of [{ inMs: Number.NaN }, { outMs: -1 }, { outMs: 20_000 }, { fadeEnd: 'yes' }, { holdMs: 3 }]) {
      expect(() => fade(bad as never)).toThrow(/Bad options for "fade"/);
    }
    const { error } = await failureOf(fade(), [ones(10), ones(10, 2)], anyPcm);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('format');
    expect((error as VoxpipeError).stage).toBe('fade');
  });
});

describe('fade: abort at any point', () => {
  const subject = { stage: () => fade({ inMs: 5, outMs: 20 }), chunk: () => ({ sampleRate: 8000, channels: [new Float32Array(64).fill(0.5)] }), format: { kind: 'pcm' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
