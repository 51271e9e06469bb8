import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../index.js';
import { collect } from '../sinks/collect.js';
import { tone } from '../sources/tone.js';
import { gain } from './gain.js';

describe('gain', () => {
  it('scales every sample by the factor', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: -40, max: 12, noNaN: true }), async (db) => {
        const plain = (await pipeline(tone({ ms: 100 }), collect()).done).value!.pcm!;
        const scaled = (await pipeline(tone({ ms: 100 }), gain({ db }), collect()).done).value!.pcm!;
        const factor = 10 ** (db / 20);
        expect(scaled.channels[0].length).toBe(plain.channels[0].length);
        for (let i = 0; i < plain.channels[0].length; i += 37) {
          expect(scaled.channels[0][i]).toBeCloseTo(Math.fround(plain.channels[0][i] * factor), 5);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('rejects bad options with a message naming the option', () => {
    expect(() => gain({ db: Number.NaN })).toThrow(/gain.*db/);
  });
});
