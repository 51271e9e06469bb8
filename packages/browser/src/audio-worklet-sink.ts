import { anyPcm, checkOptions, optionRules as is, type Controllable, type OptionRules, type PcmChunk, type SinkStage } from '@voxpipe/core';
import { Playback } from './playback.js';
import type { PlaybackControl } from './player-control.js';
import type { PlaybackResult } from './player-control.js';
import { defaultAudioContext } from './unlock.js';

const STAGE = 'audioWorkletSink';

/** What `audioWorkletSink` is given. Checked without a schema library, so a browser player stays small. */
export interface AudioWorkletSinkOptions {
  /** The context to play in (an AudioContext, or an OfflineAudioContext to render). Default: the page's shared one (`defaultAudioContext()`). */
  context?: BaseAudioContext;
  /** Audio to gather before the first sample plays, in ms (0 to 10,000; default 100). */
  prebufferMs?: number;
  /**
   * `adaptive` (default): after an underrun, gather the last target plus the time the ring stayed dry (×1.25 at least,
   * up to 2 s and half the ring) before playing on; 2 s of steady play lower the target by a quarter, down to prebufferMs;
   * the speech's own pauses are held longer while the ring is below target, and while it holds more than target + 100 ms
   * pauses are shortened (to 100 ms at least) by what the buffer added before, no more. `fixed`: prebufferMs, then
   * `rebuffer` after an underrun; pauses untouched.
   */
  jitter?: 'adaptive' | 'fixed';
  /** Fixed jitter buffer: after an underrun, wait for this much audio again before playing on (`true`: prebufferMs; ms up to 10,000). Default: play on at once. */
  rebuffer?: boolean | number;
  /** Output channels (1 to 32), mapped from the stream's by core's `mixChannels` (mono is copied to each; more are averaged down). Default: the stream's. */
  channels?: number;
  /** Ring size in ms of audio (50 to 120,000; default 2000): how far playback may lag the stream before writes wait. */
  bufferMs?: number;
  /** Resampler quality when the context's rate differs from the stream's (default `high`). */
  quality?: 'high' | 'medium' | 'fast';
  /** `shared`: SharedArrayBuffer ring (needs crossOriginIsolated); `message`: posted chunks; `auto` (default): shared when possible. */
  transport?: 'auto' | 'shared' | 'message';
  /** Where the worklet's output goes. Default: the context's destination. */
  destination?: AudioNode;
  /** Fade used when the run is aborted without `stop()`, in ms (0 to 5000; default 10). */
  abortFadeMs?: number;
  /** Output gain (0 to 4; 1: as is); change it while playing with the control's `volume`, which moves smoothly. */
  volume?: number;
  /**
   * Play through an `<audio>` element fed by a MediaStreamAudioDestinationNode (`true`: a new detached one),
   * so the browser's echo canceller hears what is played: use it when a microphone is open at the same time.
   */
  outputElement?: boolean | HTMLAudioElement;
  /** Where to load the processor from when a Content-Security-Policy forbids blob: scripts. */
  moduleUrl?: string;
}

const rules: OptionRules<AudioWorkletSinkOptions> = {
  context: is.object((x) => typeof x.createGain === 'function', 'context must be an AudioContext or OfflineAudioContext'),
  prebufferMs: is.numberIn(0, 10_000),
  jitter: is.oneOf(['adaptive', 'fixed']),
  rebuffer: is.either(is.boolean, is.numberIn(0, 10_000)),
  channels: is.numberIn(1, 32, true),
  bufferMs: is.numberIn(50, 120_000),
  quality: is.oneOf(['high', 'medium', 'fast']),
  transport: is.oneOf(['auto', 'shared', 'message']),
  destination: is.object((x) => typeof x.connect === 'function', 'destination must be an AudioNode'),
  abortFadeMs: is.numberIn(0, 5000),
  volume: is.numberIn(0, 4),
  outputElement: is.either(is.boolean, is.object((x) => typeof x.play === 'function', 'outputElement must be true or an HTMLAudioElement')),
  moduleUrl: is.anyString,
};
const defaults = { prebufferMs: 100, jitter: 'adaptive', rebuffer: false, bufferMs: 2000, quality: 'high', transport: 'auto', abortFadeMs: 10, volume: 1 } as const;

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
  const { context: given, ...settings } = checkOptions(STAGE, options, rules, { defaults }) as AudioWorkletSinkOptions & Required<Pick<AudioWorkletSinkOptions, keyof typeof defaults>>;
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
