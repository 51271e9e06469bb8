import * as v from 'valibot';
import { anyPcm } from '../format.js';
import { channelsSchema, parseOptions } from '../options.js';
import { withMarks, type PcmChunk } from '../pcm/pcm.js';
import { givenBack } from '../given-back.js';
import { transformStage, type TransformStage } from '../stage.js';
import { pcmChecker } from '../pcm/pcm-check.js';
import { mixChannels } from '../pcm/mix-channels.js';

const schema = v.strictObject({
  /** Channels out. */
  channels: channelsSchema,
});

export type MixOptions = v.InferInput<typeof schema>;

/**
 * Changes the channel count: up-mixes a mono voice for a stereo sink, or
 * down-mixes stereo for a mono encoder. The rule is one and layout-free
 * (no speaker positions are assumed), from M channels in to N out:
 * - M = N: unchanged.
 * - M < N (up-mix): output k is a copy of input k mod M — mono goes to every
 *   channel, stereo to 4 channels is L R L R.
 * - M > N (down-mix): output k is the average of the inputs j with
 *   j mod N = k — N = 1 averages them all ((L + R) / 2), 4 to stereo is
 *   ((c0 + c2) / 2, (c1 + c3) / 2). Averaging never raises the level, so it never clips.
 * Word marks pass on with their chunk (time is not changed).
 *
 * ```ts
 * pipeline(ttsSource({ baseUrl, text }), decode(), mix({ channels: 2 }), speaker());
 * ```
 */
export function mix(options: MixOptions): TransformStage<PcmChunk, PcmChunk> {
  const { channels: count } = parseOptions('mix', schema, options);
  return transformStage<PcmChunk, PcmChunk>({
    name: 'mix',
    takes: anyPcm,
    gives: (input) => ({ ...input, channels: count }),
    spec: { stage: 'mix', options: { channels: count } },
    synchronous: true,
    syncInput: 'passed',
    transformer: (_ctx, input) => {
      const check = pcmChecker('mix', input);
      /** The channels given last: the arrays mix made for them are written again when the stages after it are done with them (`givenBack`). */
      let spare: Float32Array[] | undefined;
      return {
        transform(chunk, controller) {
          const { sampleRate, frames } = check(chunk);
          if (frames === 0) return;
          const channels = mixChannels(chunk.channels, count, spare !== undefined && givenBack(controller) ? spare : undefined);
          spare = channels;
          controller.enqueue(withMarks({ sampleRate, channels }, chunk.marks));
        },
      };
    },
  });
}
