import { parseOptions, type Controllable, type SinkStage } from '@voxpipe/core';
import * as v from 'valibot';
import { MsePlayback } from './media-source-playback.js';
import type { PlaybackResult, PlayedPosition, PlayerControl, StopOptions } from './player-control.js';

export { canUseMediaSource } from './media-source-playback.js';

const STAGE = 'mediaSourceSink';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const schema = v.strictObject({
  /** The element to play through. Default: a new, detached `Audio()`. */
  audio: v.optional(v.custom<HTMLAudioElement>((x) => isObject(x) && typeof x.play === 'function', 'audio must be an HTMLAudioElement')),
  /** Seconds the element may buffer ahead of playback before writes wait. */
  maxAheadSeconds: v.optional(v.pipe(v.number(), v.finite(), v.minValue(1), v.maxValue(600)), 30),
});

export type MediaSourceSinkOptions = v.InferInput<typeof schema>;

/** One run's handle on its `mediaSourceSink` (`run.control(sink)`); its `stop()` fades the element's volume out. */
export interface MediaSourceControl extends PlayerControl {
  /** The element this run plays through. */
  readonly audio: HTMLAudioElement;
  /** The position heard so far. */
  played(): PlayedPosition;
}

/** The MSE sink: a description of playback through its element; each run gives a {@link MediaSourceControl}. */
export interface MediaSourceSinkStage extends SinkStage<Uint8Array, PlaybackResult>, Controllable<MediaSourceControl> {
  /** The element it plays through. */
  readonly audio: HTMLAudioElement;
}

/**
 * Plays `audio/mpeg` bytes as they arrive through an `<audio>` element fed by
 * Media Source Extensions (ManagedMediaSource on iOS): the browser decodes,
 * so no WASM decoder is loaded. Use it for MP3 responses where
 * `canUseMediaSource()` is true; elsewhere use `decode()` + `audioWorkletSink()`.
 *
 * ```ts
 * const sink = mediaSourceSink();
 * const run = pipeline(ttsSource({ ...opts, format: 'mp3' }), sink); // later: await run.control(sink)?.stop()
 * ```
 */
export function mediaSourceSink(options: MediaSourceSinkOptions = {}): MediaSourceSinkStage {
  const o = parseOptions(STAGE, schema, options);
  let audio = o.audio;
  const element = () => (audio ??= new Audio());
  return {
    role: 'sink',
    name: STAGE,
    takes: { kind: 'bytes', container: 'mp3' },
    spec: { stage: STAGE, options: { maxAheadSeconds: o.maxAheadSeconds } },
    get audio() {
      return element();
    },
    open(ctx) {
      const playback = new MsePlayback(ctx, element(), o.maxAheadSeconds);
      ctx.provide({ audio: element(), played: () => playback.position(), stop: (stopOptions: StopOptions = {}) => playback.stop(stopOptions.fadeMs ?? 30) } satisfies MediaSourceControl);
      return {
        sink: {
          start: (controller) => playback.start(controller),
          write: (bytes) => playback.write(bytes),
          close: () => playback.close(),
          abort: () => playback.abort(),
        },
        result: () => ({ played: playback.position(), underruns: playback.underruns }),
      };
    },
  };
}

