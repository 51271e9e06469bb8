/**
 * Composable WHATWG-Streams stages for real-time text-to-speech audio. This file is the package's table of contents.
 *
 * @module @voxpipe/core
 */
import { pipeline as runPipeline } from './pipeline.js';
import { runSpec } from './spec.js';

// Putting stages together: run now (pipeline), check now and run later or
// use as one stage (assemble, compose), from data (pipeline.fromSpec,
// assembleFromSpec), or a source on its own (openSource).
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
export { assemble, type Pipeline, type PipelineSpec, type Run, type RunOptions, type RunResult } from './pipeline.js';
export { compose } from './compose.js';
export { givenBack } from './given-back.js';
export { preloadFusion } from './load-fusion.js';
export { assembleFromSpec, type Registry, type StageFactory } from './spec.js';
export { openSource, type OpenedSource, type OpenSourceOptions } from './open-source.js';
export { coreStages } from './registry.js';

// The stage contract, its context, formats, events and errors
export { transformStage, type AnyStage, type Controllable, type Counter, type EndOutcome, type SinkHandle, type SinkStage, type SourceStage, type SourceWrapperStage, type StageContext, type StageSink, type StageSpec, type StageTransformer, type SyncInput, type TransformPair, type TransformStage } from './stage.js';
export { createContext, type ContextOptions, type ContextScope } from './context.js';
export { anyBytes, anyPcm, text, describeFormat, formatMismatch, refineFormat, type Container, type Format, type Kind, type SampleEncoding } from './format.js';
export { RunEvents, type Outcome, type RunEvent, type RunEventListener, type RunEventMap, type RunEventType } from './events.js';
export type { Milestone, RunMetrics } from './metrics.js';
export { VoxpipeError, isAbortError, toVoxpipeError, type ErrorCode, type VoxpipeErrorOptions } from './errors.js';
export { parseOptions } from './options.js';
export { checkOptions, type OptionRule, type OptionRules } from './check-options.js';
export * as optionRules from './check-options-rules.js';
export { ReadableStream, TransformStream, WritableStream, streamsRuntime } from './streams.js';
export type { Engine, EngineVoice, SynthesisRequest } from './engine.js';

// Sources (and reconnect, which wraps one)
export { ttsSource, type TtsSourceOptions, type FetchLike } from './sources/tts-source.js';
export { reconnect, type ReconnectOptions } from './sources/reconnect.js';
export { isResumable, type Resumable, type ResumableSourceStage, type ResumeRequest, type ResumeResponse } from './sources/resumable.js';
export { errorFromResponse, errorFromStatus, parseRetryAfter } from './sources/http-error.js';
export { fromResponse, type FromResponseOptions } from './sources/from-response.js';
export { formatFromHeaders, type HeadersLike } from './sources/format-from-headers.js';
export { fromIterable, type FromIterableOptions } from './sources/from-iterable.js';
export { fromStream } from './sources/from-stream.js';
export { fromBytes } from './sources/from-bytes.js';
export { tone, type ToneOptions } from './sources/tone.js';

// Transforms
export { pcmDecode, type PcmDecodeOptions } from './stages/pcm-decode.js';
export { pcmEncode, type PcmEncodeOptions } from './stages/pcm-encode.js';
export { prebuffer, type PrebufferOptions } from './stages/prebuffer.js';
export { resample, type ResampleOptions } from './stages/resample.js';
export { mix, type MixOptions } from './stages/mix.js';
export { frames, type FramesOptions } from './stages/frames.js';
export { gain, type GainOptions } from './stages/gain.js';
export { fade, type FadeControl, type FadeOptions, type FadeStage } from './stages/fade.js';
export { meter, type MeterOptions } from './stages/meter.js';
export { speak, type SpeakOptions } from './stages/speak.js';
export { sentences, splitSentences, type SentencesOptions } from './text/sentences.js';
export { NOTHING_HEARD, WordTimeline, type Heard, type WordEvent } from './text/heard.js';
export { locateSentence, originalSpan, SpeechNormalizer, type SpeechText } from './text/speech-text.js';

// Sinks
export { collect, type CollectOptions, type Collected } from './sinks/collect.js';

// PCM and DSP without streams (AudioWorklet-ready)
export { concatPcm, pcmDurationMs, pcmFrames, pcmTimeStrategy, shiftMarks, silence, sliceMarks, withMarks, type PcmChunk, type WordMark } from './pcm/pcm.js';
export { pcmChecker, type PcmShape } from './pcm/pcm-check.js';
export { markWords, WordTimestamps, type TimedWord } from './pcm/word-timestamps.js';
export { mixChannels } from './pcm/mix-channels.js';
export { createResampler, RESAMPLE_QUALITY, type ResampleQuality, type Resampler, type ResamplerOptions } from './dsp/resampler.js';
