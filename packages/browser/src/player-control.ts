import type { Heard } from '@voxpipe/core';

/**
 * How much of the stream was heard: `samples` at the stream's own rate, `ms`
 * of audio, and of a stream with word marks the words that finished playing
 * (`text` up to the last of them, as written; `words`; `charEnd`).
 */
export interface PlayedPosition extends Heard {
  samples: number;
  ms: number;
  /** The stream's sample rate (the one `samples` counts in). */
  sampleRate: number;
}

/** What a finished playback run gives. */
export interface PlaybackResult {
  played: PlayedPosition;
  underruns: number;
}

export interface StopOptions {
  /** Fade-out length in ms (default 30); 0 stops at once. */
  fadeMs?: number;
}

/**
 * One run's handle on the player at its end (`run.control(sink)`), whichever
 * sink it is: every browser sink's control has at least this.
 */
export interface PlayerControl {
  /**
   * Fades out, stops this run's playback and resolves with the position
   * heard (to cut a transcript there). While the stream is still arriving it
   * ends the run at once, so the request stops and `done` resolves `aborted`;
   * once the whole stream has arrived, the run completes with this position.
   */
  stop(options?: StopOptions): Promise<PlayedPosition>;
}

/** The latest report from the worklet. */
export interface PlaybackStatus {
  state: 'idle' | 'prebuffer' | 'playing' | 'pausing' | 'paused' | 'fading' | 'done';
  played: PlayedPosition;
  /** Audio in the ring, in ms. */
  bufferedMs: number;
  /** How much audio the jitter buffer gathers before playing (on), in ms: it grows after underruns and decays while delivery is steady. */
  targetMs: number;
  underruns: number;
  /** The output gain asked for (the worklet moves to it smoothly). */
  volume: number;
  /** Pause the jitter buffer added to speech's own pauses while the ring filled, and skipped from long ones to win latency back, in ms. */
  heldMs: number;
  trimmedMs: number;
}

/** One run's handle on its `audioWorkletSink` (`run.control(sink)`): live status, and stop with a fade. */
export interface PlaybackControl extends PlayerControl {
  /** This run's AudioWorkletNode (after the first chunk), e.g. to tap with an AnalyserNode. */
  readonly node: AudioWorkletNode | undefined;
  /** The latest position and fill, as last reported by the worklet. */
  status(): PlaybackStatus;
  /** Asks the worklet for its position now (it has then seen every chunk written before). */
  sync(): Promise<PlaybackStatus>;
  /** Fades out within 5 ms and holds: resolves once paused, with the status (`played` is where it resumes). The request keeps streaming into the ring. */
  pause(): Promise<PlaybackStatus>;
  /** Plays on from exactly the next frame, fading in within 5 ms. */
  resume(): void;
  /** Sets the output gain, 0–4 (1: as is; `status().volume` reads it): the gain moves there with a 10 ms time constant, so no zipper noise. */
  setVolume(volume: number): void;
  /**
   * Plays on the output device `deviceId` (`navigator.mediaDevices.enumerateDevices()`; `''`: the default), through the
   * AudioContext's setSinkId (Chromium) or, with `outputElement`, the element's (Chromium, Firefox); a `bad-request` VoxpipeError where neither exists.
   */
  setSinkId(deviceId: string): Promise<void>;
  /** The `<audio>` element played through, with the sink's `outputElement` option. */
  readonly audio: HTMLAudioElement | undefined;
}
