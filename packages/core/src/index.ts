/**
 * Composable WHATWG-Streams stages for real-time text-to-speech audio. This file is the package's table of contents.
 *
 * @module @voxpipe/core
 */
import { pipeline as runPipeline } from './pipeline.js';
import { runSpec } from './spec.js';

export { VoxpipeError, isAbortError, toVoxpipeError, type ErrorCode, type VoxpipeErrorOptions } from './errors.js';
export { anyBytes, anyPcm, text, describeFormat, formatMismatch, refineFormat, type Container, type Format, type Kind, type SampleEncoding } from './format.js';
export { concatPcm, pcmDurationMs, pcmFrames, pcmTimeStrategy, silence, type PcmChunk } from './pcm/pcm.js';
export { pcmChecker, type PcmShape } from './pcm/pcm-check.js';
export { mixChannels } from './pcm/mix-channels.js';
export { ReadableStream, TransformStream, WritableStream, streamsRuntime } from './streams.js';
export { RunEvents, type Outcome, type RunEvent, type RunEventListener, type RunEventMap, type RunEventType } from './events.js';
export type { Milestone, RunMetrics } from './metrics.js';
export { transformStage, type AnyStage, type Controllable, type Counter, type EndOutcome, type SinkHandle, type SinkStage, type StageSink, type StageTransformer, type SourceStage, type SourceWrapperStage, type StageContext, type StageSpec, type TransformStage } from './stage.js';
export { parseOptions } from './options.js';
export { assemble, type Pipeline, type PipelineSpec, type Run, type RunOptions, type RunResult } from './pipeline.js';
export { compose } from './compose.js';
export { openSource, type OpenedSource, type OpenSourceOptions } from './open-source.js';
export { createContext, type ContextOptions, type ContextScope } from './context.js';
export { assembleFromSpec, type Registry, type StageFactory } from './spec.js';

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
export { fromStream } from './sources/from-stream.js';
export { tone, type ToneOptions } from './sources/tone.js';
// stages
export { gain, type GainOptions } from './stages/gain.js';
// sinks
export { collect, type CollectOptions, type Collected } from './sinks/collect.js';
// registry of every core stage that can be written as data
export { coreStages } from './registry.js';
export type { Engine, EngineVoice, SynthesisRequest } from './engine.js';
// text
export { sentences, splitSentences, type SentencesOptions } from './text/sentences.js';
// the TTS HTTP client and reconnect
export { ttsSource, type TtsSourceOptions, type FetchLike } from './sources/tts-source.js';
export { errorFromResponse, errorFromStatus, parseRetryAfter } from './sources/http-error.js';
export { isResumable, type Resumable, type ResumableSourceStage, type ResumeRequest, type ResumeResponse } from './sources/resumable.js';
export { reconnect, type ReconnectOptions } from './sources/reconnect.js';
// PCM edges and shaping (pcmDecode, pcmEncode, mix, frames, fade)
export { pcmDecode, type PcmDecodeOptions } from './stages/pcm-decode.js';
export { pcmEncode, type PcmEncodeOptions } from './stages/pcm-encode.js';
export { mix, type MixOptions } from './stages/mix.js';
export { frames, type FramesOptions } from './stages/frames.js';
export { fade, type FadeControl, type FadeOptions, type FadeStage } from './stages/fade.js';
// prebuffer, meter, fromIterable, fromResponse
export { prebuffer, type PrebufferOptions } from './stages/prebuffer.js';
export { meter, type MeterOptions } from './stages/meter.js';
export { fromIterable, type FromIterableOptions } from './sources/from-iterable.js';
export { fromResponse, type FromResponseOptions } from './sources/from-response.js';
export { formatFromHeaders, type HeadersLike } from './sources/format-from-headers.js';
// resampling: the stage, and the stream-free core (AudioWorklet-ready)
export { resample, type ResampleOptions } from './stages/resample.js';
export { createResampler, RESAMPLE_QUALITY, type ResampleQuality, type Resampler, type ResamplerOptions } from './dsp/resampler.js';
// speak: LLM tokens → ordered, prefetched speech
export { speak, type SpeakOptions } from './stages/speak.js';
