import { PITCH_POINTS, PITCH_TABLE } from './pitch-table.js';

/** espeak's normal rate, words per minute. */
export const BASE_RATE_WPM = 175;
/** espeak's slowest rate. */
export const MIN_RATE_WPM = 80;
/** espeak's fastest rate (this build has no sonic speed-up; faster settings sound the same as 450). */
export const MAX_RATE_WPM = 450;

/**
 * A speed multiple (1 = normal) as espeak words per minute: 175 × speed,
 * rounded and clamped to 80–450 (so speeds below ≈ 0.46 or above ≈ 2.57 are clamped).
 */
export function speedToRate(speed = 1): number {
  return Math.min(MAX_RATE_WPM, Math.max(MIN_RATE_WPM, Math.round(BASE_RATE_WPM * speed)));
}

/**
 * A pitch shift in semitones as espeak's pitch parameter (0–100, 50 = the
 * voice's own), from the voice's calibration in pitch-table.ts: the measured
 * median f0 at each pitch point, interpolated in log frequency. espeak's range
 * is about −6.5 to +8.5 semitones; shifts beyond it are clamped.
 */
export function semitonesToPitch(voiceId: string, semitones = 0): number {
  const table = PITCH_TABLE[voiceId];
  if (!table) throw new Error(`No pitch calibration for voice ${voiceId}`);
  const logs = table.map((hz) => Math.log2(hz));
  const middle = PITCH_POINTS.indexOf(50);
  const target = logs[middle] + semitones / 12;
  if (target <= logs[0]) return PITCH_POINTS[0];
  const last = logs.length - 1;
  if (target >= logs[last]) return PITCH_POINTS[last];
  let i = 0;
  while (logs[i + 1] < target) i++;
  const t = (target - logs[i]) / (logs[i + 1] - logs[i]);
  return Math.round(PITCH_POINTS[i] + t * (PITCH_POINTS[i + 1] - PITCH_POINTS[i]));
}
