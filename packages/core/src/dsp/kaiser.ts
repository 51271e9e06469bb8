// Kaiser-windowed sinc design: the textbook formulas (Kaiser 1974; Oppenheim &
// Schafer §7.6) for a low-pass filter from a stopband attenuation and a
// transition width. Plain ES: runs in Node, browsers and AudioWorklet.

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser's β for a stopband attenuation of `db` decibels. */
export function kaiserBeta(db: number): number {
  if (db > 50) return 0.1102 * (db - 8.7);
  if (db >= 21) return 0.5842 * (db - 21) ** 0.4 + 0.07886 * (db - 21);
  return 0;
}

/**
 * Kaiser's estimate of the filter order (taps − 1) for an attenuation of `db`
 * and a transition width of `width` cycles per sample.
 */
export function kaiserOrder(db: number, width: number): number {
  return Math.ceil((db - 7.95) / (14.36 * width));
}

/**
 * The continuous kernel: an ideal low-pass with cutoff `fc` (cycles per
 * sample, unity gain) times a Kaiser window of half-width `half` samples.
 */
export function kaiserSinc(x: number, fc: number, half: number, beta: number, i0Beta: number): number {
  const r = x / half;
  if (r <= -1 || r >= 1) return 0;
  const u = 2 * fc * x;
  const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
  return 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta);
}
