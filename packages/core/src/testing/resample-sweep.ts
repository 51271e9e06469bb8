// A resampler's quality over a sweep of pure tones, the one measurement the
// resampler's test and its benchmark share. Any resampler fits: it is given as
// a function from a whole input signal to the whole output.

/** Converts a whole mono signal from `fromRate` to `toRate`. */
/** The pairs of rates the sweep covers: the common down- and up-conversions of speech and music. */
export const SWEEP_PAIRS: ReadonlyArray<readonly [number, number]> = [
  [48000, 24000],
  [44100, 24000],
  [48000, 16000],
  [24000, 48000],
  [22050, 24000],
  [44100, 48000],
  [24000, 8000],
];

export type ConvertSignal = (input: Float32Array, fromRate: number, toRate: number) => Float32Array | Promise<Float32Array>;

export interface SweepOptions {
  /** Tone spacing in Hz from 0.75 to 1.15 × the lower Nyquist, where the filter turns (default 50). */
  step?: number;
  /** Tone spacing elsewhere, up to the input Nyquist, as a fraction of the lower Nyquist (default 0.05). */
  coarse?: number;
  /** Length of each tone in seconds (default 0.2); a quarter at each end is left out of the measurement. */
  seconds?: number;
  /** Passband edge as a fraction of the lower Nyquist: tones up to it are measured for gain (default 0.9). */
  passband?: number;
}

/** What one tone gave. */
export interface SweepTone {
  /** Input frequency in Hz. */
  frequency: number;
  /** Gain of the tone itself in dB (undefined at or above the output Nyquist, where nothing should come out). */
  gainDb: number | undefined;
  /**
   * Everything in the output that is not the tone, in dB relative to the tone
   * put in: aliases and images (at or above the output Nyquist, the whole output).
   */
  residualDb: number;
}

/** The worst and typical figures of a sweep. */
export interface SweepResult {
  fromRate: number;
  toRate: number;
  tones: SweepTone[];
  /** Highest residual (alias or image) over every tone, in dB re the input tone. */
  worstAliasDb: number;
  /** The tone that gave it, Hz. */
  worstAliasAt: number;
  /** Median residual over the tones, dB. */
  typicalAliasDb: number;
  /** Largest |gain| in dB over the tones up to the passband edge. */
  passbandDeviationDb: number;
  /** The tone that gave it, Hz. */
  passbandDeviationAt: number;
}

const AMPLITUDE = 0.5;

/**
 * The tones of a sweep for `fromRate` → `toRate`: every `step` Hz from 0.75 to
 * 1.15 × the lower Nyquist (both common passband edges, 0.8 and 0.9, and the
 * whole transition band), every `coarse` × that Nyquist elsewhere, from
 * 100 Hz up to just below the input Nyquist.
 */
export function sweepFrequencies(fromRate: number, toRate: number, options: SweepOptions = {}): number[] {
  const step = options.step ?? 50;
  const nyquist = Math.min(fromRate, toRate) / 2;
  const top = fromRate / 2 - Math.max(1, step / 4);
  const coarse = (options.coarse ?? 0.05) * nyquist;
  const lo = 0.75 * nyquist;
  const hi = 1.15 * nyquist;
  const out = new Set<number>();
  for (let f = 100; f < lo; f += coarse) out.add(Math.round(f));
  for (let f = Math.ceil(lo / step) * step; f <= hi && f <= top; f += step) out.add(f);
  for (let f = Math.ceil(hi / coarse) * coarse; f <= top; f += coarse) out.add(Math.round(f));
  // The edges themselves: the passband edge, the lower Nyquist and just below the input Nyquist.
  const passband = (options.passband ?? 0.9) * nyquist;
  for (const f of [passband, nyquist, top]) if (f <= top) out.add(Math.round(f * 100) / 100);
  return [...out].sort((a, b) => a - b);
}

/** A pure tone at `frequency`, amplitude 0.5, with a phase that keeps a tone at Nyquist from vanishing. */
export function sweepTone(rate: number, frequency: number, frames: number): Float32Array {
  const out = new Float32Array(frames);
  const w = (2 * Math.PI * frequency) / rate;
  for (let i = 0; i < frames; i++) out[i] = AMPLITUDE * Math.sin(w * i + 0.3);
  return out;
}

/**
 * Measures one tone's output: the least-squares fit of a sinusoid at the
 * tone's frequency over the middle half (its amplitude gives the gain), and
 * the energy left after taking it away (aliases, images, noise). At or above
 * the output Nyquist the whole output is residual. Returns both re the input.
 */
export function measureTone(output: Float32Array, toRate: number, frequency: number): { gainDb: number | undefined; residualDb: number } {
  const lo = Math.floor(output.length / 4);
  const hi = Math.floor((3 * output.length) / 4);
  const n = hi - lo;
  const reference = (AMPLITUDE * AMPLITUDE) / 2; // power of the input tone
  const toDb = (power: number) => 10 * Math.log10(Math.max(power / reference, 1e-30));
  if (frequency >= toRate / 2) {
    let power = 0;
    for (let j = lo; j < hi; j++) power += output[j] * output[j];
    return { gainDb: undefined, residualDb: toDb(power / n) };
  }
  // Normal equations for x ≈ a·cos(wj) + b·sin(wj).
  const w = (2 * Math.PI * frequency) / toRate;
  let cc = 0;
  let ss = 0;
  let cs = 0;
  let xc = 0;
  let xs = 0;
  for (let j = lo; j < hi; j++) {
    const c = Math.cos(w * j);
    const s = Math.sin(w * j);
    cc += c * c;
    ss += s * s;
    cs += c * s;
    xc += output[j] * c;
    xs += output[j] * s;
  }
  const det = cc * ss - cs * cs;
  const a = (xc * ss - xs * cs) / det;
  const b = (xs * cc - xc * cs) / det;
  let power = 0;
  for (let j = lo; j < hi; j++) {
    const e = output[j] - a * Math.cos(w * j) - b * Math.sin(w * j);
    power += e * e;
  }
  return { gainDb: 20 * Math.log10(Math.hypot(a, b) / AMPLITUDE), residualDb: toDb(power / n) };
}

/** The input tones of a sweep, one signal per frequency of `sweepFrequencies`. */
export function sweepInputs(fromRate: number, toRate: number, options: SweepOptions = {}): { frequencies: number[]; inputs: Float32Array[] } {
  const frames = Math.round(fromRate * (options.seconds ?? 0.2));
  const frequencies = sweepFrequencies(fromRate, toRate, options);
  return { frequencies, inputs: frequencies.map((f) => sweepTone(fromRate, f, frames)) };
}

/** The figures of a sweep from the outputs a resampler gave for `sweepInputs`. */
export function sweepReport(fromRate: number, toRate: number, frequencies: readonly number[], outputs: readonly Float32Array[], options: SweepOptions = {}): SweepResult {
  const edge = (options.passband ?? 0.9) * (Math.min(fromRate, toRate) / 2);
  const tones: SweepTone[] = frequencies.map((frequency, i) => ({ frequency, ...measureTone(outputs[i], toRate, frequency) }));
  let worst = tones[0];
  let deviation = 0;
  let deviationAt = 0;
  for (const t of tones) {
    if (t.residualDb > worst.residualDb) worst = t;
    if (t.gainDb !== undefined && t.frequency <= edge + 1e-9 && Math.abs(t.gainDb) > deviation) {
      deviation = Math.abs(t.gainDb);
      deviationAt = t.frequency;
    }
  }
  const sorted = tones.map((t) => t.residualDb).sort((a, b) => a - b);
  return {
    fromRate,
    toRate,
    tones,
    worstAliasDb: worst.residualDb,
    worstAliasAt: worst.frequency,
    typicalAliasDb: sorted[Math.floor(sorted.length / 2)],
    passbandDeviationDb: deviation,
    passbandDeviationAt: deviationAt,
  };
}

/**
 * Feeds `convert` a pure tone at each frequency of the sweep and reports the
 * worst alias (or image) level over all of them, the median, and the largest
 * passband deviation up to `passband` × the lower Nyquist.
 *
 * ```ts
 * const r = await sweepResampler((x, from, to) => resampleWhole(x, from, to), 48000, 24000);
 * console.log(r.worstAliasDb, r.passbandDeviationDb);
 * ```
 */
export async function sweepResampler(convert: ConvertSignal, fromRate: number, toRate: number, options: SweepOptions = {}): Promise<SweepResult> {
  const { frequencies, inputs } = sweepInputs(fromRate, toRate, options);
  const outputs: Float32Array[] = [];
  for (const input of inputs) outputs.push(await convert(input, fromRate, toRate));
  return sweepReport(fromRate, toRate, frequencies, outputs, options);
}
