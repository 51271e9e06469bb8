import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DUE_MS, SliceScheduler, USAGE_HALF_LIFE_MS, type Schedulable } from './scheduler.js';

const NOW = 100_000;

const slice = (owner: string, deadline: number): Schedulable => ({ owner, deadline: () => deadline });

const owners = fc.constantFrom('a', 'b', 'c', '');
const slices = fc.array(
  fc.record({ owner: owners, offset: fc.integer({ min: -5000, max: 20_000 }) }).map((s) => slice(s.owner, NOW + s.offset)),
  { minLength: 1, maxLength: 30 },
);
const usages = fc.dictionary(owners, fc.integer({ min: 0, max: 5000 }));

function schedulerWith(used: Record<string, number>): SliceScheduler {
  const scheduler = new SliceScheduler();
  for (const [owner, ms] of Object.entries(used)) scheduler.charge(owner, ms, NOW);
  return scheduler;
}

describe('SliceScheduler.pick', () => {
  it('takes a due slice before any slice that is ahead; then the least-served owner; then the earliest deadline', () => {
    fc.assert(
      fc.property(slices, usages, (queued, used) => {
        const scheduler = schedulerWith(used);
        const picked = queued[scheduler.pick(queued, NOW)];
        const due = (s: Schedulable) => s.deadline() - NOW <= DUE_MS;
        const usage = (s: Schedulable) => scheduler.usage(s.owner, NOW);
        const rivals = queued.filter((s) => due(s) === due(picked));
        if (!due(picked)) expect(queued.some(due)).toBe(false);
        for (const other of rivals) {
          expect(usage(picked)).toBeLessThanOrEqual(usage(other));
          if (usage(other) === usage(picked)) expect(picked.deadline()).toBeLessThanOrEqual(other.deadline());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives -1 for an empty queue', () => {
    expect(new SliceScheduler().pick([], NOW)).toBe(-1);
  });

  it('a new request (deadline now) of an owner that used nothing goes before a flood of another owner due just as soon', () => {
    const scheduler = schedulerWith({ flood: 2000 });
    const queued = [...Array.from({ length: 16 }, (_, i) => slice('flood', NOW - 100 + i)), slice('quiet', NOW)];
    expect(queued[scheduler.pick(queued, NOW)].owner).toBe('quiet');
  });
});

describe('SliceScheduler usage', () => {
  it('adds what is charged and halves it every half-life', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 0, max: 4 }), (charges, halvings) => {
        const scheduler = new SliceScheduler();
        for (const ms of charges) scheduler.charge('k', ms, NOW);
        const total = charges.reduce((a, b) => a + b, 0);
        expect(scheduler.usage('k', NOW)).toBeCloseTo(total, 6);
        expect(scheduler.usage('k', NOW + halvings * USAGE_HALF_LIFE_MS)).toBeCloseTo(total / 2 ** halvings, 6);
        expect(scheduler.usage('other', NOW)).toBe(0);
      }),
    );
  });
});
