import { ttsSource } from './sources/tts-source.js';
import type { Registry } from './spec.js';
import { collect } from './sinks/collect.js';
import { tone } from './sources/tone.js';
import { fade } from './stages/fade.js';
import { frames } from './stages/frames.js';
import { gain } from './stages/gain.js';
import { meter } from './stages/meter.js';
import { mix } from './stages/mix.js';
import { pcmDecode } from './stages/pcm-decode.js';
import { pcmEncode } from './stages/pcm-encode.js';
import { prebuffer } from './stages/prebuffer.js';
import { reconnect } from './sources/reconnect.js';
import { resample } from './stages/resample.js';
import { speak } from './stages/speak.js';
import { sentences } from './text/sentences.js';

/** Every core stage that can be built from JSON options, by name. */
export const coreStages: Registry = {
  // sources
  tone,
  ttsSource,
  // source wrappers
  reconnect,
  // transforms
  pcmDecode,
  pcmEncode,
  mix,
  frames,
  gain,
  fade,
  prebuffer,
  meter,
  resample,
  sentences,
  speak,
  // sinks
  collect,
};
