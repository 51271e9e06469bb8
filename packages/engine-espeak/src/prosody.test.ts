import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PITCH_TABLE } from './pitch-table.js';
import { MAX_RATE_WPM, MIN_RATE_WPM, semitonesToPitch, speedToRate } from './prosody.js';
import { ESPEAK_VOICES } from './voices.js';

describe('prosody mapping', () => {
  it('maps speed to 175 wpm × speed, clamped to espeak’s range', () => {
    expect(speedToRate()).toBe(175);
    expect(speedToRate(2)).toBe(350);
    expect(speedToRate(0.1)).toBe(MIN_RATE_WPM);
    expect(speedToRate(10)).toBe(MAX_RATE_WPM);
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 10, noNaN: true }), fc.double({ min: 0.01, max: 10, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(speedToRate(lo)).toBeLessThanOrEqual(speedToRate(hi));
      }),
    );
  });

  it('has a calibration for every exposed voice', () => {
    for (const voice of ESPEAK_VOICES) expect(PITCH_TABLE[voice.id]).toHaveLength(11);
  });

  it('maps 0 semitones to 50 and is monotonic and clamped to 0–100', () => {
    for (const voice of ESPEAK_VOICES) expect(semitonesToPitch(voice.id, 0)).toBe(50);
    fc.assert(
      fc.property(fc.constantFrom(...ESPEAK_VOICES.map((v) => v.id)), fc.double({ min: -30, max: 30, noNaN: true }), fc.double({ min: -30, max: 30, noNaN: true }), (id, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const pLo = semitonesToPitch(id, lo);
        const pHi = semitonesToPitch(id, hi);
        expect(pLo).toBeLessThanOrEqual(pHi);
        expect(pLo).toBeGreaterThanOrEqual(0);
        expect(pHi).toBeLessThanOrEqual(100);
      }),
      { numRuns: 200 },
    );
    expect(semitonesToPitch('en-us', 40)).toBe(100);
    expect(semitonesToPitch('en-us', -40)).toBe(0);
  });
});
