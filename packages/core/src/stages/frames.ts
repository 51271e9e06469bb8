import * as v from 'valibot';
import { anyPcm } from '../format.js';
import { parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { transformStage, type TransformStage } from '../stage.js';
import { pcmChecker } from '../pcm/pcm-check.js';
import { PcmQueue } from '../pcm/pcm-queue.js';

const schema = v.pipe(
  v.strictObject({
    /** Frame length in milliseconds, at the stream's rate (rounded to whole samples, at least one). */
    ms: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(60_000))),
    /** Frame length in samples per channel. */
    samples: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000))),
    /** Pad the last, shorter frame with silence to full length (default false: it is given as it is). */
    pad: v.optional(v.boolean(), false),
  }),
  v.check((o) => (o.ms === undefined) !== (o.samples === undefined), 'Give exactly one of "ms" or "samples"'),
);

export type FramesOptions = v.InferInput<typeof schema>;

/**
 * Re-chunks PCM into frames of one fixed length — what codecs, VAD, network
 * packets and AudioWorklet rings want (e.g. 20 ms). It holds back less than
 * one frame; at the end it gives the shorter tail, or pads it with silence
 * when `pad` is set. A length in `ms` is settled at the first chunk, when the
 * rate is known. Word marks stay on their samples, in whichever frame those land.
 *
 * ```ts
 * pipeline(ttsSource({ baseUrl, text }), decode(), frames({ ms: 20, pad: true }), pcmEncode(), stdout());
 * ```
 */
export function frames(options: FramesOptions): TransformStage<PcmChunk, PcmChunk> {
  const o = parseOptions('frames', schema, options);
  return transformStage<PcmChunk, PcmChunk>({
    name: 'frames',
    takes: anyPcm,
    gives: (input) => input,
    spec: { stage: 'frames', options: { ...o } },
    synchronous: true,
    transformer: (_ctx, input) => {
      const check = pcmChecker('frames', input);
      let queue: PcmQueue | undefined;
      let size = 0;
      let rate = 0;
      return {
        transform(chunk, controller) {
          const shape = check(chunk);
          if (!queue) {
            rate = shape.sampleRate;
            size = o.samples ?? Math.max(1, Math.round(((o.ms ?? 0) * rate) / 1000));
            queue = new PcmQueue(shape.channelCount, 2 * size);
          }
          queue.push(chunk.channels, 0, shape.frames, chunk.marks);
          while (queue.length >= size) controller.enqueue(queue.takeChunk(size, rate));
        },
        flush(controller) {
          if (!queue || queue.length === 0) return;
          const tail = queue.takeChunk(queue.length, rate);
          if (o.pad) {
            tail.channels = tail.channels.map((samples) => {
              const full = new Float32Array(size);
              full.set(samples);
              return full;
            });
          }
          controller.enqueue(tail);
        },
      };
    },
  });
}
