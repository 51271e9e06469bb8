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
  state: 'idle' | 'prebuffer' | 'playing' | 'fading' | 'done';
  played: PlayedPosition;
  /** Audio in the ring, in ms. */
  bufferedMs: number;
  underruns: number;
}

/** One run's handle on its `audioWorkletSink` (`run.control(sink)`): live status, and stop with a fade. */
export interface PlaybackControl extends PlayerControl {
  /** This run's AudioWorkletNode (after the first chunk), e.g. to tap with an AnalyserNode. */
  readonly node: AudioWorkletNode | undefined;
  /** The latest position and fill, as last reported by the worklet. */
  status(): PlaybackStatus;
  /** Asks the worklet for its position now (it has then seen every chunk written before). */
  sync(): Promise<PlaybackStatus>;
}
