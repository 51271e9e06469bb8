import { decode } from '@voxpipe/codecs';
import type { Controllable, PcmChunk, SinkStage, TransformStage } from '@voxpipe/core';
import { audioWorkletSink, type AudioWorkletSinkOptions } from './audio-worklet-sink.js';
import { canUseMediaSource, mediaSourceSink } from './media-source-sink.js';
import type { PlaybackResult, PlayerControl } from './player-control.js';

export interface BrowserPlayerOptions extends AudioWorkletSinkOptions {
  /** What the response will be. Only `mp3` can go through Media Source Extensions. Default: unknown (decode + worklet). */
  format?: 'mp3' | 'pcm' | 'wav' | 'opus' | 'flac' | 'vorbis';
  /** The element for the MSE path. */
  audio?: HTMLAudioElement;
  /** Force a path; by default MSE for MP3 where the browser can, otherwise decode + worklet. */
  prefer?: 'media-source' | 'worklet';
}

/** The sink a `browserPlayer` ends with, either path: each run gives at least a {@link PlayerControl}. */
export type PlayerSinkStage = (SinkStage<Uint8Array, PlaybackResult> | SinkStage<PcmChunk, PlaybackResult>) & Controllable<PlayerControl>;

/** The stages to end a byte pipeline with; stop a run with `run.control(player.sink)`. */
export interface BrowserPlayer {
  /** Which path was chosen. */
  readonly via: 'media-source' | 'worklet';
  /** Put these after the source: `pipeline(source, ...player.stages)`. */
  readonly stages: [SinkStage<Uint8Array, PlaybackResult>] | [TransformStage<Uint8Array, PcmChunk>, SinkStage<PcmChunk, PlaybackResult>];
  /** The sink at the end: `run.control(player.sink)?.stop({ fadeMs })` fades out, ends the run and resolves with the position heard. */
  readonly sink: PlayerSinkStage;
}

/**
 * Picks how to play a TTS byte stream in this browser: MP3 through Media
 * Source Extensions where supported (no WASM decoder to load), otherwise
 * voxpipe's `decode()` (MP3, WAV, raw PCM, Ogg Opus, FLAC, Ogg Vorbis) and
 * the gapless worklet sink — Firefox's MSE has no `audio/mpeg`, so there it
 * is always the worklet.
 *
 * ```ts
 * const player = browserPlayer({ format: 'mp3' });
 * const run = pipeline(ttsSource({ ...opts, format: 'mp3' }), ...player.stages); // later: run.control(player.sink)?.stop()
 * ```
 */
export function browserPlayer(options: BrowserPlayerOptions = {}): BrowserPlayer {
  const { format, audio, prefer, ...sinkOptions } = options;
  const mse = prefer === 'media-source' || (prefer !== 'worklet' && format === 'mp3' && canUseMediaSource());
  if (mse) {
    const sink = mediaSourceSink({ audio });
    return { via: 'media-source', stages: [sink], sink };
  }
  const sink = audioWorkletSink(sinkOptions);
  return { via: 'worklet', stages: [decode(), sink], sink };
}
