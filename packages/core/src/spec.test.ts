import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { coreStages } from './registry.js';
import { assembleFromSpec } from './spec.js';

// The spec's shape as the valibot schema it was checked with before (one change: options that are an array are refused now): the reference for the hand-written check.
const reference = v.strictObject({
  stages: v.pipe(v.array(v.strictObject({ stage: v.pipe(v.string(), v.minLength(1)), options: v.optional(v.pipe(v.unknown(), v.check((x) => typeof x === 'object' && x !== null && !Array.isArray(x)))) })), v.minLength(2)),
});

const entry = fc.oneof(
  fc.record({ stage: fc.constantFrom('tone', 'gain', 'collect', '', 'nope'), options: fc.constantFrom({}, { ms: 10 }, undefined) }, { requiredKeys: ['stage'] }),
  fc.record({ stage: fc.constantFrom('tone', 3, null), extra: fc.constant(1) }, { requiredKeys: [] }),
  fc.constantFrom(null, 'tone', [], { stage: 'gain', options: [] }, { stage: 'gain', options: 'x' }),
);
const spec = fc.oneof(
  fc.record({ stages: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ stages: fc.array(entry, { maxLength: 3 }), more: fc.constant(true) }),
  fc.constantFrom(null, [], 42, { stages: 'tone' }, {}),
);

describe('pipeline specs', () => {
  it('property: a spec is refused as a bad spec exactly when its shape is wrong (as the schema it had said), naming where', () => {
    fc.assert(
      fc.property(spec, (candidate) => {
        let message = '';
        try {
          assembleFromSpec(candidate, coreStages);
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message.startsWith('Bad pipeline spec')).toBe(!v.safeParse(reference, candidate).success);
      }),
      { numRuns: 300 },
    );
  });
});
