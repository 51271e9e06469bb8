import * as v from 'valibot';
import { channelsSchema, msSchema, parseOptions, sampleRateSchema } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import type { SourceStage } from '../stage.js';
import { ReadableStream } from '../streams.js';

const schema = v.strictObject({
  /** Hz; 0 gives silence. */
  frequency: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0)), 440),
  /** Peak amplitude in dBFS. */
  db: v.optional(v.pipe(v.number(), v.finite(), v.maxValue(0)), -12),
  /** Total duration. */
  ms: v.optional(v.pipe(msSchema, v.maxValue(3_600_000)), 1000),
  sampleRate: v.optional(sampleRateSchema, 24000),
  channels: v.optional(channelsSchema, 1),
  /** Size of each chunk. */
  chunkMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0.1)), 20),
});

export type ToneOptions = v.InferInput<typeof schema>;

/**
 * A source of a sine tone as PCM — for tests, demos and checking a sink or a
 * sound card without a server.
 *
 * ```ts
 * pipeline(tone({ frequency: 1000, ms: 500 }), wavFile('beep.wav'));
 * ```
 */
export function tone(options: ToneOptions = {}): SourceStage<PcmChunk> {
  const o = parseOptions('tone', schema, options);
  const total = Math.round((o.ms * o.sampleRate) / 1000);
  const step = Math.max(1, Math.round((o.chunkMs * o.sampleRate) / 1000));
  const amplitude = 10 ** (o.db / 20);
  const w = (2 * Math.PI * o.frequency) / o.sampleRate;
  return {
    role: 'source',
    name: 'tone',
    gives: { kind: 'pcm', sampleRate: o.sampleRate, channels: o.channels },
    spec: { stage: 'tone', options: { ...o } },
    open(ctx) {
      let position = 0;
      return new ReadableStream<PcmChunk>(
        {
          pull(controller) {
            if (position >= total) return controller.close();
            const n = Math.min(step, total - position);
            const samples = new Float32Array(n);
            for (let i = 0; i < n; i++) samples[i] = amplitude * Math.sin(w * (position + i));
            position += n;
            ctx.mark('first-audio');
            const channels = [samples];
            for (let c = 1; c < o.channels; c++) channels.push(samples.slice());
            controller.enqueue({ sampleRate: o.sampleRate, channels });
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
