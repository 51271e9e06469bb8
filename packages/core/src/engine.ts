import type { PcmChunk } from './pcm/pcm.js';

/** One voice an engine can speak with. */
export interface EngineVoice {
  /** The engine's own id, e.g. `en-us+m3`. */
  id: string;
  /** BCP-47 language, e.g. `en-US`. */
  language: string;
  gender: 'male' | 'female' | 'neutral';
}

/** What to say and how. */
export interface SynthesisRequest {
  text: string;
  /** An engine voice id (see `Engine.voices()`). */
  voice: string;
  /** Speaking speed as a multiple of normal (1 = normal, 2 = twice as fast). */
  speed?: number;
  /** Pitch shift in semitones (0 = the voice's own). */
  pitch?: number;
  /** Aborting stops synthesis and ends the stream. */
  signal?: AbortSignal;
  /** Whose request this is (the server sends the API key's id): an engine that shares its time between callers shares it by owner. */
  owner?: string;
  /**
   * Milliseconds of audio needed at once, before the listener hears any of
   * it: a resume must make the audio it skips, a range response waits for
   * its end (`Infinity`: all of it). An engine that schedules its work makes
   * this as urgently as a new request's first audio. Default 0.
   */
  urgentMs?: number;
}

/**
 * A speech engine the server (or anything else) can drive. Implementations:
 * `@voxpipe/engine-espeak` (embedded, no network); a cloud provider or
 * another local engine plugs in the same way.
 */
export interface Engine {
  readonly name: string;
  /** The rate of the PCM it gives. */
  readonly sampleRate: number;
  /**
   * What makes its audio: the same build gives the same samples for the same
   * request, on any machine and in any process (e.g. the package version, the
   * voice data's version and every setting that changes the samples). A
   * server uses it in the stream's `ETag`, so a client can prove a resumed
   * stream is the one it began. Leave it out for an engine that is not
   * deterministic: its streams then carry no validator.
   */
  readonly build?: string;
  voices(): readonly EngineVoice[];
  /**
   * Speaks `text` as mono PCM at `sampleRate`, each piece as soon as the
   * engine has it. Deterministic: the same request gives the same samples
   * (and the same marks). Cancelling the stream or aborting the signal stops
   * synthesis.
   *
   * An engine that knows where words are may attach `marks` to its chunks:
   * each on the frame where its word's first sample is, in the chunk that
   * holds that sample, in order; `charStart`/`charEnd` index the request's
   * own `text` (UTF-16), whatever the engine cut or normalized; `duration`
   * runs to the end of the word's voiced audio (not through a pause after
   * it). A chunk leaves with the marks of every word starting in it complete.
   */
  synthesize(request: SynthesisRequest): ReadableStream<PcmChunk>;
  /**
   * An upper bound on how much audio a request can make, in ms, worked out
   * from its text without synthesizing: lets a server refuse a range past
   * the end at once. Optional; the bound must never be below the real length.
   */
  maxAudioMs?(request: Pick<SynthesisRequest, 'text' | 'speed' | 'pitch'>): number;
  /** Stops workers and frees everything. */
  close(): Promise<void>;
}
