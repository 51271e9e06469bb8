import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EngineCost, USABLE_SHARE, worstLateness, type Work } from './capacity.js';

const NOW = 50_000;
const pieces = fc.array(
  fc.record({ offset: fc.integer({ min: -2000, max: 20_000 }), ms: fc.integer({ min: 0, max: 500 }) }).map(({ offset, ms }) => ({ deadline: NOW + offset, ms })),
  { maxLength: 40 },
);
const workers = fc.integer({ min: 1, max: 8 });
const copy = (work: Work[]) => work.map((piece) => ({ ...piece }));

describe('worstLateness', () => {
  it('is the latest start past its deadline with the work laid out earliest deadline first, in whatever order it is given (the shorter first at equal deadlines)', () => {
    fc.assert(
      fc.property(pieces, workers, (work, n) => {
        const sorted = copy(work).sort((a, b) => a.deadline - b.deadline || a.ms - b.ms);
        let done = 0;
        let worst = -Infinity;
        for (const piece of sorted) {
          worst = Math.max(worst, NOW + done / (n * USABLE_SHARE) - piece.deadline);
          done += piece.ms;
        }
        expect(worstLateness(copy(work), n, NOW)).toBeCloseTo(worst, 6);
        expect(worstLateness(copy(work).reverse(), n, NOW)).toBeCloseTo(worst, 6);
      }),
    );
  });

  it('more work, or fewer workers, never makes it earlier: a stream admitted alongside others can only add lateness', () => {
    fc.assert(
      fc.property(pieces, pieces, workers, (open, added, n) => {
        const before = worstLateness(copy(open), n, NOW);
        expect(worstLateness([...copy(open), ...copy(added)], n, NOW)).toBeGreaterThanOrEqual(before);
        if (n > 1) expect(worstLateness(copy(open), n - 1, NOW)).toBeGreaterThanOrEqual(before);
      }),
    );
  });

  it('counts a piece by its start: one long piece due now is on time, a short one queued behind it is as late as the long one takes', () => {
    expect(worstLateness([{ deadline: NOW, ms: 5000 }], 1, NOW)).toBe(0);
    expect(worstLateness([{ deadline: NOW, ms: 5000 }, { deadline: NOW + 1, ms: 10 }], 1, NOW)).toBeCloseTo(5000 / USABLE_SHARE - 1, 6);
  });

  it('no work is never late', () => {
    expect(worstLateness([], 2, NOW)).toBe(-Infinity);
  });
});

describe('EngineCost', () => {
  it('settles on the cost and audio per character of the jobs it sees, whatever it started from', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.array(fc.integer({ min: 5, max: 300 }), { minLength: 200, maxLength: 300 }),
        (msPerChar, seed, lengths) => {
          const cost = new EngineCost();
          cost.seed(seed);
          for (const chars of lengths) cost.observe(chars, chars * msPerChar, chars * 60, 1);
          expect(cost.msPerChar / msPerChar).toBeCloseTo(1, 2);
          expect(cost.audioMsPerChar).toBeCloseTo(60, 1);
        },
      ),
    );
  });

  it('counts a job by its characters: a short job does not weigh as much as a long one', () => {
    const cost = new EngineCost();
    for (let i = 0; i < 300; i++) {
      cost.observe(20, 20 * 2, 20 * 55, 1); // short jobs at 2 ms per character
      cost.observe(200, 200 * 0.5, 200 * 55, 1); // long ones at 0.5
    }
    // The mix's own cost: (40 + 100) ms for 220 characters, not the mean of the two rates (1.25).
    expect(cost.msPerChar).toBeCloseTo(140 / 220, 1);
  });

  it('counts a running job in only once it has cost more than the measured rate: never lower, never above the slowest job', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ chars: fc.integer({ min: 5, max: 300 }), rate: fc.double({ min: 0.1, max: 3, noNaN: true }) }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.record({ chars: fc.integer({ min: 0, max: 300 }), ms: fc.double({ min: 0, max: 2000, noNaN: true }) }), { maxLength: 4 }),
        (finished, running) => {
          const cost = new EngineCost();
          for (const job of finished) cost.observe(job.chars, job.chars * job.rate, job.chars * 60, 1);
          const base = cost.msPerChar;
          const withRunning = cost.msPerCharWith(running);
          const over = running.filter((job) => job.chars > 0 && job.ms > job.chars * base);
          if (over.length === 0) expect(withRunning).toBe(base);
          else expect(withRunning).toBeGreaterThan(base);
          expect(withRunning).toBeLessThanOrEqual(Math.max(base, ...over.map((job) => job.ms / job.chars)) * (1 + 1e-12));
        },
      ),
    );
  });

  it('takes the slowest worker\'s warm-up cost until jobs are measured, and ignores a worker that did not measure one', () => {
    const cost = new EngineCost();
    cost.seed(0.4);
    cost.seed(0.9);
    cost.seed(0.6);
    cost.seed(0);
    expect(cost.msPerChar).toBeCloseTo(0.9, 6);
  });
});
