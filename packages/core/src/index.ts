// @voxpipe/core — the table of contents.
import { pipeline as runPipeline } from './pipeline.js';
import { runSpec } from './spec.js';

export { VoxpipeError, isAbortError, toVoxpipeError, type ErrorCode, type VoxpipeErrorOptions } from './errors.js';
export { anyBytes, anyPcm, text, describeFormat, formatMismatch, refineFormat, type Container, type Format, type Kind, type SampleEncoding } from './format.js';
export { concatPcm, pcmDurationMs, pcmFrames, pcmTimeStrategy, silence, type PcmChunk } from './pcm.js';
export { ReadableStream, TransformStream, WritableStream, streamsRuntime } from './streams.js';
export { RunEvents, type Outcome, type RunEvent, type RunEventListener, type RunEventMap, type RunEventType } from './events.js';
export type { Milestone, RunMetrics } from './metrics.js';
export { transformStage, type AnyStage, type SinkHandle, type SinkStage, type SourceStage, type SourceWrapperStage, type StageContext, type StageSpec, type TransformStage } from './stage.js';
export { parseOptions } from './options.js';
export { assemble, type Pipeline, type PipelineSpec, type Run, type RunOptions, type RunResult } from './pipeline.js';
export { assembleFromSpec, runSpec, type Registry, type StageFactory } from './spec.js';

/**
 * Assembles stages and runs them; `pipeline.fromSpec(json, registry)` does
 * the same from data.
 *
 * ```ts
 * const run = pipeline(tone({ ms: 500 }), gain({ db: -6 }), collect());
 * const { value } = await run.done;
 * ```
 */
export const pipeline = Object.assign(runPipeline, { fromSpec: runSpec });

// sources
export { fromBytes } from './sources/from-bytes.js';
export { tone, type ToneOptions } from './sources/tone.js';
// stages
export { gain, type GainOptions } from './stages/gain.js';
// sinks
export { collect, type CollectOptions, type Collected } from './sinks/collect.js';
// registry of every core stage that can be written as data
export { coreStages } from './registry.js';
export type { Engine, EngineVoice, SynthesisRequest } from './engine.js';
