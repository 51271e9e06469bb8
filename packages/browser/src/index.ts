/**
 * Web Audio playback for voxpipe: a gapless AudioWorklet sink, unlock(), a MediaSource sink, and a demo page. This file is the package's table of contents.
 *
 * @module @voxpipe/browser
 */
export { audioWorkletSink, type AudioWorkletSinkOptions, type AudioWorkletSinkStage, type PlaybackResult, type PlaybackStatus, type PlayedPosition, type StopOptions } from './audio-worklet-sink.js';
export { unlock, defaultAudioContext } from './unlock.js';
export { mediaSourceSink, canUseMediaSource, type MediaSourceSinkOptions, type MediaSourceSinkStage } from './media-source-sink.js';
export { browserPlayer, type BrowserPlayer, type BrowserPlayerOptions } from './browser-player.js';
export { PROCESSOR_NAME, PROCESSOR_SOURCE, loadProcessor } from './worklet-processor.js';
// registry of every browser stage that can be written as data
export { browserStages } from './registry.js';
