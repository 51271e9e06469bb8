import { decode } from '@voxpipe/codecs';
import type { PcmChunk, SinkStage, TransformStage } from '@voxpipe/core';
import { audioWorkletSink, type AudioWorkletSinkOptions, type AudioWorkletSinkStage, type PlaybackResult, type PlayedPosition, type StopOptions } from './audio-worklet-sink.js';
import { canUseMediaSource, mediaSourceSink, type MediaSourceSinkStage } from './media-source-sink.js';

export interface BrowserPlayerOptions extends AudioWorkletSinkOptions {
  /** What the response will be. Only `mp3` can go through Media Source Extensions. Default: unknown (decode + worklet). */
  format?: 'mp3' | 'pcm' | 'wav';
  /** The element for the MSE path. */
  audio?: HTMLAudioElement;
  /** Force a path; by default MSE for MP3 where the browser can, otherwise decode + worklet. */
  prefer?: 'media-source' | 'worklet';
}

/** The stages to end a byte pipeline with, and how to stop them. */
export interface BrowserPlayer {
  /** Which path was chosen. */
  readonly via: 'media-source' | 'worklet';
  /** Put these after the source: `pipeline(source, ...player.stages)`. */
  readonly stages: [SinkStage<Uint8Array, PlaybackResult>] | [TransformStage<Uint8Array, PcmChunk>, SinkStage<PcmChunk, PlaybackResult>];
  /** The sink at the end. */
  readonly sink: AudioWorkletSinkStage | MediaSourceSinkStage;
  /** Fades out, aborts the request and resolves with the position heard. */
  stop(options?: StopOptions): Promise<PlayedPosition>;
}

/**
 * Picks how to play a TTS byte stream in this browser: MP3 through Media
 * Source Extensions where supported (no WASM decoder to load), otherwise
 * voxpipe's `decode()` (MP3, WAV or raw PCM) and the gapless worklet sink.
 *
 * ```ts
 * const player = browserPlayer({ format: 'mp3' });
 * const run = pipeline(ttsSource({ ...opts, format: 'mp3' }), ...player.stages);
 * ```
 */
export function browserPlayer(options: BrowserPlayerOptions = {}): BrowserPlayer {
  const { format, audio, prefer, ...sinkOptions } = options;
  const mse = prefer === 'media-source' || (prefer !== 'worklet' && format === 'mp3' && canUseMediaSource());
  if (mse) {
    const sink = mediaSourceSink({ audio, controller: sinkOptions.controller });
    return { via: 'media-source', stages: [sink], sink, stop: (o) => sink.stop(o) };
  }
  const sink = audioWorkletSink(sinkOptions);
  return { via: 'worklet', stages: [decode(), sink], sink, stop: (o) => sink.stop(o) };
}
