/**
 * Embedded eSpeak NG speech engine for voxpipe (worker pool). This file is the package's table of contents.
 *
 * @module @voxpipe/engine-espeak
 */
export {
  ESPEAK_SAMPLE_RATE,
  type EspeakEngine,
  type EspeakEngineOptions,
  type EspeakEngineStats,
  type EspeakSynthesisRequest,
  type AdmissionRequest,
} from './engine-types.js';
export { createEspeakEngine } from './engine.js';
export { maxAudioMs } from './audio-bound.js';
export { ESPEAK_VOICES, findVoice, type EspeakVoice } from './voices.js';
export { medianF0, voicedF0, semitonesBetween, type F0Options } from './f0.js';
export { splitSegments, openingSegments, segmentWeight, DEFAULT_SEGMENT_CHARS, DIGIT_WEIGHT, OPENING_CHARS } from './segment.js';
export { speedToRate, semitonesToPitch, BASE_RATE_WPM, MIN_RATE_WPM, MAX_RATE_WPM } from './prosody.js';
export type { WorkerStartup } from './pool.js';
