// The polyphase table of a rational resampler: one row of taps per output
// phase, so each output sample is one dot product over the input history.
import { besselI0, kaiserSinc } from './kaiser.js';

/**
 * How a low-pass is built: a sinc at `cutoff` under a Kaiser window of
 * shape `beta` and half-width `halfWidth`, both measured at the lower of the
 * two rates (so one design serves every ratio).
 */
export interface LowpassDesign {
  /** Kaiser's β: the window's shape (higher: deeper stopband, wider transition). */
  beta: number;
  /** The sinc's cutoff (its −6 dB point) as a fraction of the lower Nyquist. */
  cutoff: number;
  /** Half the kernel's length, in samples at the lower rate. */
  halfWidth: number;
}

/** A polyphase kernel for the ratio L/M (output/input, reduced). */
export interface PolyphaseKernel {
  /** Upsampling factor (output rate / gcd). */
  readonly up: number;
  /** Downsampling factor (input rate / gcd). */
  readonly down: number;
  /** Half-width of the kernel in input samples: output t reads inputs floor(t) − half + 1 … */
  readonly half: number;
  /** Taps per row: 2·half rounded up to a multiple of 8 (the extra taps are 0). */
  readonly taps: number;
  /**
   * Rows in the table. Equal to `up` when every phase has its own row
   * (exact); otherwise `rows + 1` rows sample the kernel at `rows` fractional
   * positions and outputs blend two neighbouring rows linearly.
   */
  readonly rows: number;
  readonly exact: boolean;
  /** Row r, tap i holds kernel(r/rows + half − 1 − i), each row summing to 1. */
  readonly table: Float64Array;
}

/** Largest table (in coefficients) built with one row per phase. */
const EXACT_LIMIT = 1 << 20;
/** Interpolated tables sample the kernel this finely per input sample, scaled by the cutoff. */
const INTERPOLATED_ROWS = 4096;

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Builds the table for `fromRate` → `toRate` from a design: the kernel is
 * the same continuous function of time at the lower rate whatever the ratio,
 * sampled at every output phase, each row normalised to unity gain.
 */
export function designPolyphase(fromRate: number, toRate: number, design: LowpassDesign): PolyphaseKernel {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const scale = Math.min(1, up / down); // lower rate / input rate
  const half = Math.ceil(design.halfWidth / scale);
  const taps = Math.ceil((2 * half) / 8) * 8;
  const fc = (design.cutoff / 2) * scale; // cycles per input sample
  const beta = design.beta;
  const i0Beta = besselI0(beta);
  const exact = up * taps <= EXACT_LIMIT;
  const rows = exact ? up : Math.min(up, Math.max(16, Math.ceil(INTERPOLATED_ROWS * scale)));
  const stored = exact ? rows : rows + 1;
  const table = new Float64Array(stored * taps);
  for (let r = 0; r < stored; r++) {
    const offset = r * taps;
    const frac = r / rows;
    let sum = 0;
    for (let i = 0; i < 2 * half; i++) {
      const value = kaiserSinc(frac + half - 1 - i, fc, half, beta, i0Beta);
      table[offset + i] = value;
      sum += value;
    }
    for (let i = 0; i < 2 * half; i++) table[offset + i] /= sum;
  }
  return { up, down, half, taps, rows, exact, table };
}
