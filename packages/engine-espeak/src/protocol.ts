// Messages between the engine (main thread) and worker.mjs. worker.mjs is
// plain JavaScript; keep these types and its header comment in step.

/** Test-only behaviour a job can ask of the worker (see `EspeakSynthesisRequest.__test`). */
export interface WorkerTestHooks {
  /** The worker calls `process.exit(70)` after sending this many chunks. */
  crashAfterChunks?: number;
  /** The worker throws (a handled synthesis failure) after this many chunks. */
  throwAfterChunks?: number;
  /** The worker blocks after this many chunks until the job is cancelled (or 30 s pass). */
  pauseAfterChunks?: number;
}

/** A word starting in a chunk, as the worker finds it: its range is in the job's text (a segment). */
export interface SegmentMark {
  /** The frame in its chunk where the word's first sample is. */
  frame: number;
  /** Seconds from its first sample to the end of its voiced audio. */
  duration: number;
  /** UTF-16 offsets into the job's text. */
  charStart: number;
  charEnd: number;
}

export interface JobMessage {
  type: 'job';
  id: number;
  /** The worker's stop cell for this job (0 or 1): the engine writes the job's id there to stop it. */
  cell: number;
  text: string;
  /** espeak's own voice name, e.g. `en+m3`. */
  voice: string;
  /** Words per minute. */
  rate: number;
  /** espeak pitch, 0–100. */
  pitch: number;
  /** Frames to synthesize but not send: remaking a segment from where a stalled reader's audio was dropped. */
  skipFrames?: number;
  test?: WorkerTestHooks;
}

export type WorkerMessage =
  /** `msPerChar`: what the last rounds of a thorough warm-up cost per character (their median) (0 without one). */
  | { type: 'ready'; loadMs: number; warmMs: number; msPerChar: number }
  | { type: 'chunk'; id: number; samples: Float32Array; marks: SegmentMark[] }
  /** `ms`: the job's wall time in its worker, from its start to its last message. */
  | { type: 'done'; id: number; stopped: boolean; frames: number; ms: number }
  | { type: 'failed'; id: number; message: string; ms: number };

export interface WorkerInit {
  /** Int32Array[2]: per stop cell, the id of a job the worker must stop (or not start). */
  flag: SharedArrayBuffer;
  /** Float64Array[2], written by the worker: the id of the job it runs and when it started it (ms since the epoch). */
  running: SharedArrayBuffer;
  /** `'full'`: the thorough warm-up (see `EspeakEngineOptions.warm`). */
  warm: boolean | 'full';
  /** Nice levels below the process's priority the thread runs at (see `EspeakEngineOptions.workerNice`). */
  nice: number;
}
