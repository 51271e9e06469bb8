import * as v from 'valibot';
import { anyPcm } from '../format.js';
import { parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { transformStage, type TransformStage } from '../stage.js';
import { pcmChecker } from '../pcm/pcm-check.js';

const schema = v.strictObject({
  /** A chunk whose RMS level is above this (dBFS) counts as audible. */
  thresholdDb: v.optional(v.pipe(v.number(), v.finite(), v.minValue(-200), v.maxValue(0)), -50),
  /** Report a `level` event for every this many ms of audio (measured in samples, so independent of chunking; a shorter tail is not reported). */
  every: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(600_000))),
});

export type MeterOptions = v.InferInput<typeof schema>;

/** Level in dBFS of a mean square and a peak (−Infinity for digital silence). */
function toDb(meanSquare: number, peak: number): { rmsDb: number; peakDb: number } {
  return { rmsDb: 10 * Math.log10(meanSquare), peakDb: 20 * Math.log10(peak) };
}

/**
 * Adds the squares of frames `from` … `to` of each channel to its entry in
 * `sums`, in sample order, and returns the largest |x| among them (0 for
 * none; NaN is passed over). Module-level with locals only: this runs on
 * every sample of a metered stream.
 */
function accumulate(channels: readonly Float32Array[], from: number, to: number, sums: number[]): number {
  let peak = 0;
  if (channels.length === 2) {
    // both channels in one pass: two sums that do not wait on each other
    const left = channels[0];
    const right = channels[1];
    let sumLeft = sums[0];
    let sumRight = sums[1];
    for (let i = from; i < to; i++) {
      const l = left[i];
      const r = right[i];
      sumLeft += l * l;
      sumRight += r * r;
      const a = Math.abs(l);
      const b = Math.abs(r);
      if (a > peak) peak = a;
      if (b > peak) peak = b;
    }
    sums[0] = sumLeft;
    sums[1] = sumRight;
    return peak;
  }
  for (let c = 0; c < channels.length; c++) {
    const samples = channels[c];
    let sum = sums[c];
    for (let i = from; i < to; i++) {
      const x = samples[i];
      sum += x * x;
      const a = Math.abs(x);
      if (a > peak) peak = a;
    }
    sums[c] = sum;
  }
  return peak;
}

/**
 * Measures PCM as it passes, without touching it: the first chunk whose RMS
 * level is above `thresholdDb` marks `first-audible` (the moment speech, not
 * leading silence, reaches this point — the latency users hear), followed by
 * a `level` event with that chunk's levels. With `every`, it also reports
 * RMS and peak dBFS for each `every` ms of audio. Chunks are given on as the
 * very same objects (word marks included).
 *
 * ```ts
 * const run = pipeline(ttsSource({ baseUrl, text }), decode(), meter({ thresholdDb: -45 }), speaker());
 * run.events.on('first-audible', (e) => console.log('heard at', e.t, 'ms'));
 * ```
 */
export function meter(options: MeterOptions = {}): TransformStage<PcmChunk, PcmChunk> {
  const o = parseOptions('meter', schema, options);
  return transformStage<PcmChunk, PcmChunk>({
    name: 'meter',
    takes: anyPcm,
    gives: (input) => input,
    spec: { stage: 'meter', options: { ...o } },
    synchronous: true,
    syncInput: 'passed',
    transformer: (ctx, input) => {
      const check = pcmChecker('meter', input);
      let audible = false;
      // the running window for `every`: per-channel sums of squares (summed in sample order, so any split gives the same numbers)
      let windowFrames = 0;
      let filled = 0;
      let sums: number[] = [];
      let peak = 0;
      return {
        transform(chunk, controller) {
          const { sampleRate, channelCount, frames } = check(chunk);
          if (!audible && frames > 0) {
            let sum = 0;
            let chunkPeak = 0;
            for (const samples of chunk.channels) {
              for (let i = 0; i < frames; i++) {
                const x = samples[i];
                sum += x * x;
                const a = Math.abs(x);
                if (a > chunkPeak) chunkPeak = a;
              }
            }
            const level = toDb(sum / (frames * channelCount), chunkPeak);
            if (level.rmsDb > o.thresholdDb) {
              audible = true;
              ctx.mark('first-audible', { db: level.rmsDb });
              ctx.emit('level', level);
            }
          }
          if (o.every !== undefined) {
            if (windowFrames === 0) {
              windowFrames = Math.max(1, Math.round((o.every * sampleRate) / 1000));
              sums = new Array<number>(channelCount).fill(0);
            }
            let position = 0;
            while (position < frames) {
              const end = Math.min(frames, position + windowFrames - filled);
              const rangePeak = accumulate(chunk.channels, position, end, sums);
              if (rangePeak > peak) peak = rangePeak;
              filled += end - position;
              position = end;
              if (filled === windowFrames) {
                let total = 0;
                for (const s of sums) total += s;
                ctx.emit('level', toDb(total / (windowFrames * channelCount), peak));
                sums.fill(0);
                peak = 0;
                filled = 0;
              }
            }
          }
          controller.enqueue(chunk);
        },
      };
    },
  });
}
