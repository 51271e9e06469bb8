/**
 * Node sources and sinks for voxpipe: files, WAV, stdout, players, Node stream interop. This file is the package's table of contents.
 *
 * @module @voxpipe/node
 */
// sources
export { fileSource, formatFromPath, type FileSourceOptions } from './file-source.js';
export { fromNodeReadable, type FromNodeReadableOptions } from './from-node-readable.js';
// sinks
export { wavFile, type WavFileOptions, type WavFileResult } from './wav-file.js';
export { rawFile, type RawFileOptions, type RawFileResult } from './raw-file.js';
export { stdout, type StdoutOptions, type StdoutResult } from './stdout.js';
export { play, type PlayControl, type PlayOptions, type PlayResult } from './play.js';
export { speaker, type SpeakerConstructor, type SpeakerOptions, type SpeakerResult } from './speaker.js';
// Node stream interop
export { toNodeReadable, type SourceChain, type ToNodeReadableOptions } from './to-node-readable.js';
export { toNodeWritable, type SinkChain, type ToNodeWritableOptions } from './to-node-writable.js';
export { toNodeDuplex, type ToNodeDuplexOptions } from './to-node-duplex.js';
// registry of every Node stage that can be written as data
export { nodeStages } from './registry.js';
