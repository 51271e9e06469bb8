/**
 * Web Audio playback for voxpipe: a gapless AudioWorklet sink, unlock(), a MediaSource sink, and a demo page. This file is the package's table of contents.
 * What acts on one run (stop with a fade, live status) is that run's control: `run.control(sink)`.
 *
 * @module @voxpipe/browser
 */
export { audioWorkletSink, type AudioWorkletSinkOptions, type AudioWorkletSinkStage } from './audio-worklet-sink.js';
export type { PlaybackControl, PlaybackStatus } from './player-control.js';
export type { PlaybackResult, PlayedPosition, PlayerControl, StopOptions } from './player-control.js';
export { unlock, defaultAudioContext, resumeOnGesture } from './unlock.js';
export { mediaSourceSink, canUseMediaSource, type MediaSourceControl, type MediaSourceSinkOptions, type MediaSourceSinkStage } from './media-source-sink.js';
export { browserPlayer, type BrowserPlayer, type BrowserPlayerOptions, type PlayerSinkStage } from './browser-player.js';
export { PROCESSOR_SOURCE } from './worklet-processor.js';
export { PROCESSOR_NAME, loadProcessor } from './load-processor.js';
// registry of every browser stage that can be written as data
export { browserStages } from './registry.js';
