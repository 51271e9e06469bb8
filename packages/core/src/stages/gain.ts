import * as v from 'valibot';
import { anyPcm } from '../format.js';
import { parseOptions } from '../options.js';
import { withMarks, type PcmChunk } from '../pcm/pcm.js';
import { givenBack } from '../given-back.js';
import { transformStage, type TransformStage } from '../stage.js';

const schema = v.strictObject({
  /** Gain in decibels (−6 halves the amplitude). */
  db: v.optional(v.pipe(v.number(), v.finite(), v.minValue(-120), v.maxValue(60))),
  /** Linear factor; used when `db` is absent. */
  factor: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1000))),
});

export type GainOptions = v.InferInput<typeof schema>;

/**
 * Scales PCM by a fixed gain. Use it to set a voice's level before mixing or
 * playback. Samples are not clipped (float PCM has headroom); `pcmEncode` clips.
 * Word marks pass on with their chunk.
 *
 * ```ts
 * pipeline(source, decode(), gain({ db: -6 }), speaker());
 * ```
 */
export function gain(options: GainOptions = {}): TransformStage<PcmChunk, PcmChunk> {
  const parsed = parseOptions('gain', schema, options);
  const factor = parsed.db !== undefined ? 10 ** (parsed.db / 20) : (parsed.factor ?? 1);
  return transformStage<PcmChunk, PcmChunk>({
    name: 'gain',
    takes: anyPcm,
    gives: (input) => input,
    spec: { stage: 'gain', options: { ...parsed } },
    synchronous: true,
    syncInput: 'read',
    transformer: () => {
      /** The arrays of the chunk given last: written again when the stages after gain are done with them (`givenBack`). */
      let spare: Float32Array[] | undefined;
      return {
        transform(chunk, controller) {
          const input = chunk.channels;
          const reuse = spare !== undefined && givenBack(controller) ? spare : undefined;
          const channels: Float32Array[] = [];
          for (let c = 0; c < input.length; c++) channels.push(scale(input[c], factor, reuse?.[c]));
          spare = channels;
          controller.enqueue(withMarks({ sampleRate: chunk.sampleRate, channels }, chunk.marks));
        },
      };
    },
  });
}

/** `samples` times `factor`, into `into` when it has their length, else into a fresh array (never into the input: whoever gave it may still hold it). */
function scale(samples: Float32Array, factor: number, into?: Float32Array): Float32Array {
  const out = into !== undefined && into.length === samples.length ? into : new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] * factor;
  return out;
}
