import type { Registry, StageFactory } from '@voxpipe/core';
import { fileSource, type FileSourceOptions } from './file-source.js';
import { play, type PlayOptions } from './play.js';
import { rawFile, type RawFileOptions } from './raw-file.js';
import { speaker, type SpeakerOptions } from './speaker.js';
import { stdout, type StdoutOptions } from './stdout.js';
import { wavFile, type WavFileOptions } from './wav-file.js';

// A sink typed by its chunks is a StageFactory for the registry's purposes (it checks formats itself).
const entry = <O>(make: (options: O) => unknown) => make as unknown as StageFactory;

/**
 * Every Node stage that can be built from JSON options, by name (each takes
 * one options object). Merge it with the others for `pipeline.fromSpec`:
 *
 * ```ts
 * pipeline.fromSpec(spec, { ...coreStages, ...codecStages, ...nodeStages });
 * // { "stages": [{ "stage": "tone" }, { "stage": "wavFile", "options": { "path": "out.wav" } }] }
 * ```
 */
export const nodeStages: Registry = {
  fileSource: entry((options: FileSourceOptions) => fileSource(options)),
  wavFile: entry((options: WavFileOptions) => wavFile(options)),
  rawFile: entry((options: RawFileOptions) => rawFile(options)),
  stdout: entry((options?: StdoutOptions) => stdout(options)),
  play: entry((options?: PlayOptions) => play(options)),
  speaker: entry((options?: SpeakerOptions) => speaker(options)),
};
