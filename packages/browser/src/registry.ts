import type { Registry } from '@voxpipe/core';
import { audioWorkletSink } from './audio-worklet-sink.js';
import { mediaSourceSink } from './media-source-sink.js';

/** Every browser stage that can be built from JSON options, by name. Merge with `{ ...coreStages, ...codecStages, ...browserStages }`. */
export const browserStages: Registry = {
  audioWorkletSink,
  mediaSourceSink,
};
