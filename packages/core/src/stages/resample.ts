import * as v from 'valibot';
import { createResampler, MAX_RATE, MIN_RATE, type Resampler } from '../dsp/resampler.js';
import { toVoxpipeError, VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { parseOptions, sampleRateSchema } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { transformStage, type TransformStage } from '../stage.js';

const schema = v.strictObject({
  /** Output sample rate in Hz: any integer from 1000 to 384000. */
  rate: sampleRateSchema,
  /**
   * Filter quality (`RESAMPLE_QUALITY` states each): `high` (flat ±0.01 dB to 0.9 × Nyquist, every alias
   * and image ≥ 120 dB down), `medium` (the same band, ≥ 90 dB) or `fast` (flat to 0.8 × Nyquist, ≥ 70 dB).
   */
  quality: v.optional(v.picklist(['high', 'medium', 'fast']), 'high'),
});

export type ResampleOptions = v.InferInput<typeof schema>;

/**
 * Converts PCM to another sample rate with a band-limited polyphase filter
 * (Kaiser-windowed sinc): no drift (out = round(in × rate / from) frames),
 * no delay (a tone keeps its timing), and the same output however the input
 * was chunked. Use it where a source's rate differs from the sink's, e.g.
 * 44.1 kHz MP3 into a 24 kHz voice pipeline or 24 kHz TTS into a 48 kHz AudioContext.
 * The same rate passes through unchanged; `createResampler` is the stream-free core.
 *
 * ```ts
 * pipeline(ttsSource(opts), decode(), resample({ rate: 48000 }), speaker());
 * ```
 */
export function resample(options: ResampleOptions): TransformStage<PcmChunk, PcmChunk> {
  const o = parseOptions('resample', schema, options);
  return transformStage<PcmChunk, PcmChunk>({
    name: 'resample',
    takes: anyPcm,
    gives: (input) => ({ ...input, kind: 'pcm', sampleRate: o.rate }),
    spec: { stage: 'resample', options: { ...o } },
    transformer: (ctx) => {
      let resampler: Resampler | undefined;
      return {
        start(controller) {
          // An aborted run errors the stream, which also frees a write stalled behind a reader that stopped reading.
          ctx.onAbort((reason) => controller.error(toVoxpipeError(reason, 'resample', 'aborted')));
        },
        transform(chunk, controller) {
          const rate = chunk.sampleRate;
          const count = chunk.channels.length;
          if (!resampler) {
            if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE || count < 1 || count > 32) {
              throw new VoxpipeError('format', `resample: cannot take PCM at ${rate} Hz with ${count} channel(s)`, { stage: 'resample' });
            }
            resampler = createResampler(rate, o.rate, count, o.quality);
          } else if (rate !== resampler.fromRate || count !== resampler.channels) {
            throw new VoxpipeError(
              'format',
              `resample: the input changed from ${resampler.fromRate} Hz × ${resampler.channels} to ${rate} Hz × ${count} mid-stream`,
              { stage: 'resample' },
            );
          }
          const channels = resampler.process(chunk.channels);
          if (channels[0].length > 0) controller.enqueue({ sampleRate: o.rate, channels });
        },
        flush(controller) {
          if (!resampler) return;
          const channels = resampler.flush();
          if (channels[0].length > 0) controller.enqueue({ sampleRate: o.rate, channels });
        },
      };
    },
  });
}
