import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { medianF0, semitonesBetween, voicedF0 } from './f0.js';

const RATE = 22050;

/** A voiced-like tone: a fundamental plus decaying harmonics (the fundamental weaker than the 2nd harmonic, as in speech). */
function harmonicTone(hz: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  const weights = [0.6, 1, 0.7, 0.5, 0.3, 0.2];
  for (let i = 0; i < out.length; i++) {
    let x = 0;
    weights.forEach((w, k) => {
      if (hz * (k + 1) < RATE / 2) x += w * Math.sin((2 * Math.PI * hz * (k + 1) * i) / RATE);
    });
    out[i] = (amplitude * x) / 3.3;
  }
  return out;
}

describe('f0 estimator', () => {
  it('finds the fundamental of harmonic tones within 1 %', () => {
    fc.assert(
      fc.property(fc.double({ min: 70, max: 450, noNaN: true }), (hz) => {
        const f0 = medianF0(harmonicTone(hz, 0.3), RATE);
        expect(f0).toBeDefined();
        expect(Math.abs(f0! / hz - 1)).toBeLessThan(0.01);
      }),
      { numRuns: 12 },
    );
  });

  it('skips silence and unvoiced noise', () => {
    expect(medianF0(new Float32Array(RATE / 2), RATE)).toBeUndefined();
    let seed = 1;
    const noise = new Float32Array(RATE / 2).map(() => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff - 0.5;
    });
    expect(voicedF0(noise, RATE).length).toBeLessThan(3);
  });

  it('ignores quiet frames: a tone after silence gives the tone', () => {
    const tone = harmonicTone(200, 0.3);
    const signal = new Float32Array(tone.length + RATE / 2);
    signal.set(tone, RATE / 2);
    expect(medianF0(signal, RATE)).toBeCloseTo(200, 0);
  });

  it('measures intervals in semitones', () => {
    expect(semitonesBetween(110, 220)).toBeCloseTo(12, 10);
    expect(semitonesBetween(220, 110)).toBeCloseTo(-12, 10);
    const shifted = medianF0(harmonicTone(150 * 2 ** (4 / 12), 0.3), RATE)!;
    expect(semitonesBetween(medianF0(harmonicTone(150, 0.3), RATE)!, shifted)).toBeCloseTo(4, 1);
  });
});
