import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlayedClock } from './played-clock.js';

describe('PlayedClock', () => {
  it('never goes back, never passes what the player took, runs at the player’s rate a buffer late, and plays everything in the end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 500 }), frames: fc.integer({ min: 0, max: 10_000 }) }), { maxLength: 30 }),
        (bufferFrames, steps) => {
          let t = 0;
          const clock = new PlayedClock(24000, bufferFrames, () => t);
          let last = 0;
          let taken = 0;
          for (const step of steps) {
            const before = clock.position();
            t += step.waitMs;
            const after = clock.position();
            expect(after).toBeGreaterThanOrEqual(before);
            // No faster than real time.
            expect(after - before).toBeLessThanOrEqual((step.waitMs * 24000) / 1000 + 1e-6);
            clock.fed(step.frames);
            taken += step.frames;
            const now = clock.position();
            expect(now).toBeGreaterThanOrEqual(last);
            expect(now).toBeLessThanOrEqual(taken);
            last = now;
          }
          expect(clock.taken).toBe(taken);
          t += ((taken + bufferFrames) * 1000) / 24000 + 1;
          expect(clock.position()).toBe(taken);
        },
      ),
    );
  });

  it('from a start, plays nothing for a buffer, then at the rate', () => {
    let t = 1000;
    const clock = new PlayedClock(24000, 4800, () => t);
    clock.fed(48_000);
    t += 200;
    expect(clock.position()).toBe(0);
    t += 100;
    expect(clock.position()).toBeCloseTo(2400, 6);
  });
});
