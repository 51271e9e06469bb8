import * as v from 'valibot';
import { createResampler, MAX_RATE, MIN_RATE, type Resampler } from '../dsp/resampler.js';
import { toVoxpipeError, VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { parseOptions, sampleRateSchema } from '../options.js';
import type { PcmChunk, WordMark } from '../pcm/pcm.js';
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
 * The same rate passes through unchanged: the stage gives on the very chunks
 * it takes, with no copy. `createResampler` is the stream-free core.
 *
 * A word mark on input frame p (time p / from) lands on output frame
 * ceil(p × rate / from) — the first output sample at or after the mark's
 * time — or on the last output frame when that is past the end; whatever
 * the chunking, it lands on the same sample.
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
    synchronous: true,
    // At another rate it reads its input's arrays (copying them into its history); at the same rate it gives them on.
    syncInput: 'passed',
    transformer: (ctx) => {
      let resampler: Resampler | undefined;
      /** Input frames taken and output frames given so far. */
      let taken = 0;
      let given = 0;
      /** Marks waiting for their output frame to be made, each on its output frame counted from the stream's start. */
      const waiting: WordMark[] = [];
      /** The marks whose output frames are among the next `frames` given (every mark left when `last`), numbered in that chunk. */
      const land = (frames: number, last: boolean): WordMark[] | undefined => {
        let n = 0;
        while (n < waiting.length && (last || waiting[n].frame < given + frames)) n++;
        if (n === 0) return undefined;
        return waiting.splice(0, n).map((mark) => ({ ...mark, frame: Math.min(frames - 1, Math.max(0, mark.frame - given)) }));
      };
      const give = (channels: Float32Array[], controller: TransformStreamDefaultController<PcmChunk>, last: boolean) => {
        const frames = channels[0].length;
        if (frames === 0) return;
        const out: PcmChunk = { sampleRate: o.rate, channels };
        if (waiting.length > 0) {
          const marks = land(frames, last);
          if (marks) out.marks = marks;
        }
        given += frames;
        controller.enqueue(out);
      };
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
          const frames = chunk.channels[0].length;
          if (rate === o.rate && frames > 0 && waiting.length === 0 && chunk.channels.every((samples) => samples.length === frames)) {
            // The same rate: the chunk itself goes on, its marks on their frames.
            taken += frames;
            given += frames;
            controller.enqueue(chunk);
            return;
          }
          if (chunk.marks) {
            // ceil(p × to / from) in integers: exact for any stream shorter than a day at 384 kHz.
            for (const mark of chunk.marks) waiting.push({ ...mark, frame: Math.floor(((taken + mark.frame) * o.rate + rate - 1) / rate) });
          }
          taken += frames;
          give(resampler.process(chunk.channels), controller, false);
        },
        flush(controller) {
          if (!resampler) return;
          give(resampler.flush(), controller, true);
          if (waiting.length > 0) {
            // Only when the whole stream made no output (too short for one sample at the new rate): no sample to put them on.
            ctx.emit('warning', { code: 'marks-dropped', message: `resample: ${waiting.length} word mark(s) had no output sample to land on` });
          }
        },
      };
    },
  });
}
