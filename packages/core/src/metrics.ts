/** The moments of a run that voxpipe times, each reported once. */
export type Milestone = 'request' | 'first-byte' | 'first-audio' | 'first-audible' | 'playback-start';

/**
 * A run's telemetry. Times are milliseconds since the run started; a time is
 * missing until its moment happens.
 */
export interface RunMetrics {
  /** Wall-clock start (ms since the epoch). */
  startedAt: number;
  requestMs?: number;
  firstByteMs?: number;
  firstAudioMs?: number;
  firstAudibleMs?: number;
  playbackStartMs?: number;
  endMs?: number;
  /** Encoded bytes the source delivered. */
  bytes: number;
  /** Audio that reached the sink, in ms (PCM sinks). */
  audioMs: number;
  underruns: number;
  reconnects: number;
  retries: number;
  /** Wall time from request (or start) to end divided by the audio's duration: below 1 is faster than real time. */
  realTimeFactor?: number;
}

export const MILESTONE_FIELD: Record<Milestone, keyof RunMetrics> = {
  request: 'requestMs',
  'first-byte': 'firstByteMs',
  'first-audio': 'firstAudioMs',
  'first-audible': 'firstAudibleMs',
  'playback-start': 'playbackStartMs',
};

export function emptyMetrics(startedAt: number): RunMetrics {
  return { startedAt, bytes: 0, audioMs: 0, underruns: 0, reconnects: 0, retries: 0 };
}

/** Fills in `endMs` and the real-time factor. */
export function finishMetrics(metrics: RunMetrics, endMs: number): void {
  metrics.endMs = endMs;
  const from = metrics.requestMs ?? 0;
  if (metrics.audioMs > 0) metrics.realTimeFactor = (endMs - from) / metrics.audioMs;
}
