import * as v from 'valibot';
import { anyPcm } from '../format.js';
import { parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { givenBack } from '../given-back.js';
import { transformStage, type Controllable, type TransformStage } from '../stage.js';
import { pcmChecker } from '../pcm/pcm-check.js';
import { PcmQueue } from '../pcm/pcm-queue.js';

const fadeMs = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000));

const schema = v.strictObject({
  /** Fade-in length at the start of the stream. */
  inMs: v.optional(fadeMs, 5),
  /** Fade-out length: at the end of the stream, and after `fadeOut()`. */
  outMs: v.optional(fadeMs, 10),
  /**
   * Fade the stream's natural end (default true). This holds back the last
   * `outMs` of audio until the stream ends, adding `outMs` of latency; set it
   * to false for a live stream that only ever stops through `fadeOut()`.
   */
  fadeEnd: v.optional(v.boolean(), true),
});

export type FadeOptions = v.InferInput<typeof schema>;

/** One run's handle on its `fade` (`run.control(fadeStage)`): stops that run's stream gently. */
export interface FadeControl {
  /**
   * Stops this run's stream without a click: the next `outMs` of audio
   * (starting with the audio held back for the end fade, so usually at once)
   * ramps down to silence, then the stream ends cleanly — its readable
   * closes, the rest of the upstream is cancelled, and the run completes.
   * Asked before the first chunk, the fade starts with it. Does nothing once
   * the stream has ended.
   */
  fadeOut(): void;
}

/** A `fade` stage: each run gives a {@link FadeControl}. */
export type FadeStage = TransformStage<PcmChunk, PcmChunk> & Controllable<FadeControl>;

/**
 * Fades the start and the end of a stream so that playback starts and stops
 * without a click, and stops a stream gently on demand (barge-in): call
 * `fadeOut()` on the run's control of it, `run.control(stage)`. Ramps are linear in amplitude over
 * n = round(ms × rate / 1000) samples: the fade-in goes 0, 1/n, 2/n … 1 and a
 * fade-out goes (n−1)/n … 1/n, 0, so the gain never jumps by more than one
 * step of 1/n and the last sample is silent. (Equal-power curves are for
 * crossfades between two signals; a fade to or from silence only needs a
 * continuous gain, and the linear ramp has the smallest largest step.)
 * Where fades overlap, the lower gain wins. The end fade holds back `outMs`.
 * Word marks stay on their samples; after `fadeOut()` the marks of audio
 * never given (past the fade's end) go with that audio.
 *
 * ```ts
 * const f = fade({ inMs: 5, outMs: 20 });
 * const run = pipeline(ttsSource({ baseUrl, text }), decode(), f, speaker()); // later: run.control(f)?.fadeOut()
 * ```
 */
export function fade(options: FadeOptions = {}): FadeStage {
  const o = parseOptions('fade', schema, options);
  return transformStage<PcmChunk, PcmChunk>({
    name: 'fade',
    takes: anyPcm,
    gives: (input) => input,
    spec: { stage: 'fade', options: { ...o } },
    synchronous: true,
    syncInput: 'read',
    transformer: (ctx, input) => {
      const check = pcmChecker('fade', input);
      let queue: PcmQueue | undefined;
      let rate = 0;
      let nIn = 0;
      let nOut = 0;
      let hold = 0;
      /** Frames given so far: the stream position of the first frame in the queue. */
      let position = 0;
      /** Where a requested fade-out starts, once the rate is known. */
      let stopAt: number | undefined;
      let stopAsked = false;
      let ended = false;
      let out: TransformStreamDefaultController<PcmChunk> | undefined;

      const end = () => {
        ended = true;
      };

      /** The channels given last: written again when the stages after fade are done with them (`givenBack`). */
      let spare: Float32Array[] | undefined;

      /** Takes `n` frames off the queue, applies the fades, and gives them; `total` is the stream's length once known. */
      const give = (controller: TransformStreamDefaultController<PcmChunk>, n: number, total?: number) => {
        const chunk = queue!.takeChunk(n, rate, spare !== undefined && givenBack(controller) ? spare : undefined);
        spare = chunk.channels;
        const channels = chunk.channels;
        // Past the fade-in with no fade-out in sight, every gain is 1: nothing to do per sample.
        const steady = position >= nIn && stopAt === undefined && (total === undefined || !o.fadeEnd || nOut === 0);
        for (let i = 0; !steady && i < n; i++) {
          const q = position + i;
          let g = nIn > 0 && q < nIn ? q / nIn : 1;
          if (stopAt !== undefined) g = Math.min(g, (stopAt + nOut - 1 - q) / nOut);
          if (total !== undefined && o.fadeEnd && nOut > 0) g = Math.min(g, (total - 1 - q) / nOut);
          if (g < 1) for (const samples of channels) samples[i] *= g;
        }
        position += n;
        controller.enqueue(chunk);
      };

      /** Gives what no longer needs holding back; ends the stream when a requested fade-out is complete. */
      const release = (controller: TransformStreamDefaultController<PcmChunk>) => {
        if (stopAt === undefined) {
          if (queue!.length > hold) give(controller, queue!.length - hold);
          return;
        }
        const last = stopAt + nOut;
        if (position + queue!.length >= last) {
          if (last > position) give(controller, last - position);
          queue!.clear();
          end();
          controller.terminate();
        } else if (!o.fadeEnd && queue!.length > 0) {
          give(controller, queue!.length);
        }
      };

      function stop() {
        if (ended || stopAsked) return;
        stopAsked = true;
        if (!queue || !out) return; // the fade starts with the first chunk
        stopAt = position;
        try {
          release(out);
        } catch {
          end(); // the readable was already closed or cancelled
        }
      }
      ctx.provide({ fadeOut: stop } satisfies FadeControl);
      ctx.defer(end);

      return {
        start(controller) {
          out = controller;
        },
        transform(chunk, controller) {
          if (ended) return;
          const { sampleRate, channelCount, frames } = check(chunk);
          if (!queue) {
            rate = sampleRate;
            nIn = Math.round((o.inMs * rate) / 1000);
            nOut = Math.round((o.outMs * rate) / 1000);
            hold = o.fadeEnd ? nOut : 0;
            queue = new PcmQueue(channelCount, hold + frames);
            if (stopAsked) stopAt = 0;
          }
          queue.push(chunk.channels, 0, frames, chunk.marks);
          release(controller);
        },
        flush(controller) {
          if (ended) return;
          end();
          if (queue && queue.length > 0) give(controller, queue.length, position + queue.length);
        },
      };
    },
  });
}
