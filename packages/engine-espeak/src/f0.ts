/**
 * A small autocorrelation pitch (f0) estimator for speech: enough to check
 * that a pitch shift moved the voice by the right number of semitones. Pure
 * TypeScript, no Node built-ins, so the server's tests can reuse it.
 */

export interface F0Options {
  /** Lowest f0 searched, Hz. Default 60. */
  minHz?: number;
  /** Highest f0 searched, Hz. Default 500. */
  maxHz?: number;
  /** Analysis frame length, ms. Default 40. */
  frameMs?: number;
  /** Step between frames, ms. Default 10. */
  hopMs?: number;
  /** A frame is voiced when its normalised autocorrelation peak reaches this. Default 0.6. */
  voicing?: number;
  /** Frames quieter than this fraction of the loudest frame's RMS are skipped. Default 0.1. */
  silence?: number;
}

/**
 * The f0 of every voiced frame, in Hz, in order (audio above 16 kHz is
 * analysed at half rate or less). A frame is voiced when the
 * normalised autocorrelation at the best lag reaches `voicing`; the lag is the
 * shortest one whose peak is within 10 % of the best (avoids octave-down errors)
 * and is refined by parabolic interpolation.
 *
 * ```ts
 * const f0s = voicedF0(samples, 22050);
 * ```
 */
export function voicedF0(input: Float32Array, inputRate: number, options: F0Options = {}): number[] {
  // Speech f0 needs no more than ~11 kHz: halve higher rates (with a [1 2 1]/4
  // low-pass) so the autocorrelation costs a quarter as much.
  let samples = input;
  let sampleRate = inputRate;
  while (sampleRate > 16000) {
    samples = halve(samples);
    sampleRate /= 2;
  }
  const minHz = options.minHz ?? 60;
  const maxHz = options.maxHz ?? 500;
  const frame = Math.round(((options.frameMs ?? 40) * sampleRate) / 1000);
  const hop = Math.max(1, Math.round(((options.hopMs ?? 10) * sampleRate) / 1000));
  const voicing = options.voicing ?? 0.6;
  const minLag = Math.max(2, Math.floor(sampleRate / maxHz));
  const maxLag = Math.ceil(sampleRate / minHz);
  const span = frame + maxLag + 1;
  if (samples.length < span) return [];

  // Frame energies first, to skip silence relative to the loudest frame.
  const starts: number[] = [];
  const rms: number[] = [];
  let loudest = 0;
  for (let start = 0; start + span <= samples.length; start += hop) {
    let sum = 0;
    for (let i = start; i < start + frame; i++) sum += samples[i] * samples[i];
    const r = Math.sqrt(sum / frame);
    starts.push(start);
    rms.push(r);
    if (r > loudest) loudest = r;
  }
  const floor = loudest * (options.silence ?? 0.1);

  const out: number[] = [];
  const corr = new Float64Array(maxLag + 2);
  for (let f = 0; f < starts.length; f++) {
    if (rms[f] <= floor || rms[f] === 0) continue;
    const s = starts[f];
    let e0 = 0;
    for (let i = s; i < s + frame; i++) e0 += samples[i] * samples[i];
    // Energy of the lagged window, updated incrementally as the lag grows.
    let eLag = 0;
    for (let i = s + minLag; i < s + minLag + frame; i++) eLag += samples[i] * samples[i];
    let best = 0;
    for (let lag = minLag; lag <= maxLag + 1; lag++) {
      let dot = 0;
      for (let i = 0; i < frame; i++) dot += samples[s + i] * samples[s + i + lag];
      const denom = Math.sqrt(e0 * eLag);
      corr[lag] = denom > 0 ? dot / denom : 0;
      if (lag <= maxLag && corr[lag] > best) best = corr[lag];
      const leaving = samples[s + lag];
      const entering = samples[s + lag + frame];
      eLag += entering * entering - leaving * leaving;
    }
    if (best < voicing) continue;
    // The shortest lag at a local peak close to the best one.
    let chosen = -1;
    for (let lag = minLag + 1; lag < maxLag; lag++) {
      if (corr[lag] >= 0.9 * best && corr[lag] >= corr[lag - 1] && corr[lag] >= corr[lag + 1]) {
        chosen = lag;
        break;
      }
    }
    if (chosen < 0) continue;
    const a = corr[chosen - 1];
    const b = corr[chosen];
    const c = corr[chosen + 1];
    const curvature = a - 2 * b + c;
    const shift = curvature === 0 ? 0 : (0.5 * (a - c)) / curvature;
    out.push(sampleRate / (chosen + Math.max(-0.5, Math.min(0.5, shift))));
  }
  return out;
}

/** Low-passes with [1 2 1]/4 and keeps every other sample. */
function halve(samples: Float32Array): Float32Array {
  const out = new Float32Array(samples.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const j = 2 * i;
    const before = j > 0 ? samples[j - 1] : samples[j];
    const after = j + 1 < samples.length ? samples[j + 1] : samples[j];
    out[i] = 0.25 * before + 0.5 * samples[j] + 0.25 * after;
  }
  return out;
}

/**
 * The median f0 over voiced frames, in Hz, or `undefined` when nothing is voiced.
 *
 * ```ts
 * const hz = medianF0(samples, 22050); // e.g. 118
 * ```
 */
export function medianF0(samples: Float32Array, sampleRate: number, options: F0Options = {}): number | undefined {
  const f0s = voicedF0(samples, sampleRate, options);
  if (f0s.length === 0) return undefined;
  f0s.sort((x, y) => x - y);
  const mid = f0s.length >> 1;
  return f0s.length % 2 === 1 ? f0s[mid] : (f0s[mid - 1] + f0s[mid]) / 2;
}

/** The interval from `fromHz` to `toHz` in semitones (positive = higher). */
export function semitonesBetween(fromHz: number, toHz: number): number {
  return 12 * Math.log2(toHz / fromHz);
}
