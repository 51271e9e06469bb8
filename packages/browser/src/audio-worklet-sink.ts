import { anyPcm, parseOptions, type Controllable, type PcmChunk, type SinkStage } from '@voxpipe/core';
import * as v from 'valibot';
import { Playback } from './playback.js';
import type { PlaybackControl } from './player-control.js';
import type { PlaybackResult } from './player-control.js';
import { defaultAudioContext } from './unlock.js';

const STAGE = 'audioWorkletSink';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const schema = v.strictObject({
  /** The context to play in (an AudioContext, or an OfflineAudioContext to render). Default: the page's shared one (`defaultAudioContext()`). */
  context: v.optional(v.custom<BaseAudioContext>((x) => isObject(x) && typeof x.createGain === 'function', 'context must be an AudioContext or OfflineAudioContext')),
  /** Audio to gather before the first sample plays, in ms. */
  prebufferMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000)), 100),
  /**
   * `adaptive` (default): after an underrun, gather the last target plus the time the ring stayed dry (×1.5 at least) before playing on (up to 2 s, at most half
   * the ring); every 2 s of steady play lowers the target by a quarter, down to prebufferMs. `fixed`: prebufferMs, then `rebuffer`.
   */
  jitter: v.optional(v.picklist(['adaptive', 'fixed']), 'adaptive'),
  /** Fixed jitter buffer: after an underrun, wait for this much audio again before playing on (`true`: prebufferMs). Default: play on at once. */
  rebuffer: v.optional(v.union([v.boolean(), v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000))]), false),
  /** Output channels, mapped from the stream's by core's `mixChannels` (mono is copied to each; more are averaged down). Default: the stream's. */
  channels: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32))),
  /** Ring size in ms of audio: how far playback may lag the stream before writes wait. */
  bufferMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(50), v.maxValue(120_000)), 2000),
  /** Resampler quality when the context's rate differs from the stream's. */
  quality: v.optional(v.picklist(['high', 'medium', 'fast']), 'high'),
  /** `shared`: SharedArrayBuffer ring (needs crossOriginIsolated); `message`: posted chunks; `auto` (default): shared when possible. */
  transport: v.optional(v.picklist(['auto', 'shared', 'message']), 'auto'),
  /** Where the worklet's output goes. Default: the context's destination. */
  destination: v.optional(v.custom<AudioNode>((x) => isObject(x) && typeof x.connect === 'function', 'destination must be an AudioNode')),
  /** Fade used when the run is aborted without `stop()`, in ms. */
  abortFadeMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(5000)), 10),
  /** Output gain (1: as is); change it while playing with the control's `volume`, which moves smoothly. */
  volume: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(4)), 1),
  /**
   * Play through an `<audio>` element fed by a MediaStreamAudioDestinationNode (`true`: a new detached one),
   * so the browser's echo canceller hears what is played: use it when a microphone is open at the same time.
   */
  outputElement: v.optional(v.union([v.boolean(), v.custom<HTMLAudioElement>((x) => isObject(x) && typeof x.play === 'function', 'outputElement must be true or an HTMLAudioElement')])),
  /** Where to load the processor from when a Content-Security-Policy forbids blob: scripts. */
  moduleUrl: v.optional(v.string()),
});

export type AudioWorkletSinkOptions = v.InferInput<typeof schema>;

/** The worklet sink: a description of playback; each run gives a {@link PlaybackControl} (`run.control(sink)`). */
export interface AudioWorkletSinkStage extends SinkStage<PcmChunk, PlaybackResult>, Controllable<PlaybackControl> {
  /** The context it plays in. */
  readonly context: BaseAudioContext;
}

/**
 * Plays PCM through an AudioWorklet ring buffer: gapless and sample-accurate
 * across chunks, prebuffered, converted with voxpipe's band-limited
 * resampler when the context runs at another rate. Use it as the last stage
 * of a browser pipeline; call `unlock()` in a click handler first. Each run's
 * control (`run.control(sink)`) has `status()`, `sync()`, `node` and
 * `stop({ fadeMs })`, which fades inside the worklet and ends the run.
 *
 * ```ts
 * const sink = audioWorkletSink({ prebufferMs: 150 });
 * const run = pipeline(ttsSource(opts), decode(), sink); // later: await run.control(sink)?.stop({ fadeMs: 50 })
 * ```
 */
export function audioWorkletSink(options: AudioWorkletSinkOptions = {}): AudioWorkletSinkStage {
  const { context: given, ...settings } = parseOptions(STAGE, schema, options);
  let context = given;
  const getContext = () => (context ??= defaultAudioContext());
  const { prebufferMs, rebuffer, channels, bufferMs, quality, transport, abortFadeMs, jitter, volume } = settings;
  return {
    role: 'sink',
    name: STAGE,
    takes: anyPcm,
    spec: { stage: STAGE, options: { prebufferMs, jitter, rebuffer, volume, bufferMs, quality, transport, abortFadeMs, ...(channels ? { channels } : {}) } },
    get context() {
      return getContext();
    },
    open(ctx, input) {
      const playback = new Playback(ctx, getContext(), input, settings);
      ctx.provide(playback.control());
      return {
        sink: {
          start: (controller) => playback.start(controller),
          write: (chunk) => playback.write(chunk),
          close: () => playback.close(),
          abort: () => playback.abort(),
        },
        result: () => ({ played: playback.status().played, underruns: playback.underruns }),
      };
    },
  };
}
