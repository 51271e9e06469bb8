import type { Registry } from './spec.js';
import { collect } from './sinks/collect.js';
import { tone } from './sources/tone.js';
import { gain } from './stages/gain.js';

/** Every core stage that can be built from JSON options, by name. */
export const coreStages: Registry = {
  tone,
  gain,
  collect,
};
