import type { PcmChunk, SynthesisRequest, Engine } from '@voxpipe/core';
import type { WorkerStartup } from './pool.js';
import type { WorkerTestHooks } from './protocol.js';

/** The rate of every chunk espeak gives: this package's build speaks at 24 kHz, the rate the server sends (see wasm/build.sh). */
export const ESPEAK_SAMPLE_RATE = 24000;
/** Audio a stream holds for its reader: no segment starts above it, and a stalled reader's surplus is dropped down to it. */
export const HIGH_WATER_MS = 1000;

export interface EspeakEngineOptions {
  /** Worker threads, each with its own espeak instance (~65 MB). Default: the number of cores. */
  workers?: number;
  /**
   * Synthesize a word in each worker at start, so the first request is
   * fast (`true`, the default). `'full'`: speak a paragraph twelve times in
   * four voices through the job path, then one stream per worker through the
   * engine (seconds per worker, in parallel), so
   * V8 has optimized espeak's JavaScript before the engine is ready: a fresh
   * worker's first jobs are 10–17× slower than warm ones. A server wants
   * `'full'` (it says ready only after).
   */
  warm?: boolean | 'full';
  /**
   * How many steps (Linux nice levels, 0–19) below the process's own OS
   * scheduling priority the worker threads run. 0 (the default) keeps them
   * level. A server wants about 5 (what `voxpipe serve` uses): when the
   * machine is busy, its own thread — accepting requests, sending first
   * bytes — goes first and synthesis takes the rest (the engine's measured
   * cost, and so its admission, follows what the workers get: at 10 they got
   * so little that it admitted fewer streams). Ignored where a thread's
   * priority cannot be set on its own.
   */
  workerNice?: number;
  /** Longest text segment synthesized in one go, in characters (a digit counts as 6); bounds memory per stream. Default 200. */
  segmentChars?: number;
  /**
   * A reader that reads nothing for this long, while its stream holds more
   * than 1 s, is stalled: the audio past 1 s is dropped (and its job stopped),
   * and remade from its segment's start when the reader comes back (synthesis
   * is deterministic, so the remade audio is identical). Default 1000 ms.
   */
  stallMs?: number;
}


/** A request with test-only hooks; never set `__test` outside tests. */
export interface EspeakSynthesisRequest extends SynthesisRequest {
  /** Test only: make the worker crash, fail or pause while synthesizing this request's first segment. */
  __test?: WorkerTestHooks;
}

/** Counters for tests and monitoring. */
export interface EspeakEngineStats {
  /** Live worker threads. */
  workers: number;
  /** Workers synthesizing now. */
  busy: number;
  /** Segments waiting for a worker. */
  queued: number;
  /** Of those, the ones already sent to a busy worker, to start the moment its running segment ends. */
  waitingInWorkers: number;
  /** Streams not yet finished. */
  active: number;
  /** Audio produced but not yet read, summed over unfinished streams, ms. */
  bufferedMs: number;
  /** Streams accepted (valid requests). */
  started: number;
  /** Streams that delivered all their audio. */
  completed: number;
  /** Streams cancelled by the reader or aborted by the signal. */
  cancelled: number;
  /** Streams that ended in an error (worker crash, synthesis failure, engine closed). */
  failed: number;
  /** Jobs a worker stopped because their stream was cancelled: part-way, or while they waited in it, before they began. */
  stoppedEarly: number;
  /** Workers that died and were replaced. */
  crashed: number;
  /** Times a stalled reader's surplus audio (past 1 s) was dropped. */
  evicted: number;
  /** Jobs started again to remake a stalled reader's dropped audio. */
  resumed: number;
  /** Workers running work that is ahead of its listener now (at most all but one). */
  aheadBusy: number;
  /** The engine's measured cost: wall ms per character of the jobs it finished lately. */
  msPerChar: number;
  /** Streams `admit` refused: they would have made some stream late. */
  refused: number;
  /** Streams admitted whose synthesis has not (all) started yet. */
  reserved: number;
}

/** What `EspeakEngine.admit` is asked about: the stream's text, speed and owner, as it will be synthesized. */
export interface AdmissionRequest {
  text: string;
  speed?: number;
  owner?: string;
}

/** The espeak engine: an `Engine` plus counters and start-up figures. */
export interface EspeakEngine extends Engine {
  /** As `Engine.synthesize`; also takes the test-only `__test` hooks. */
  synthesize(request: EspeakSynthesisRequest): ReadableStream<PcmChunk>;
  /**
   * Admits a stream only if the engine can make it while every open stream
   * (and every stream admitted before) still gets each segment by the time
   * its listener needs it, at the engine's measured cost per character (see
   * capacity.ts). Admitted: the stream's work is counted from now, until its
   * synthesis starts (a synthesize() of its text, or of its sentences, for
   * the same owner) or `release()` is called (call it when the stream ends
   * either way). Refused: `retryAfter` seconds, when the engine's present
   * work would be done. Synthesis itself never refuses.
   */
  admit(request: AdmissionRequest): { release(): void } | { retryAfter: number };
  stats(): EspeakEngineStats;
  /** Wall time `createEspeakEngine` took, ms. */
  readonly startupMs: number;
  /** Per worker: wasm load and warm-up times. */
  readonly workerStartups: readonly WorkerStartup[];
}
