import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { checkOptions } from './check-options.js';
import { either, nonEmptyString, numberIn, oneOf } from './check-options-rules.js';
import { VoxpipeError } from './errors.js';
import { ttsSource } from './sources/tts-source.js';

// ttsSource's options as a valibot schema (what it was checked with before): the reference the hand checks must agree with.
const reference = v.strictObject({
  baseUrl: v.pipe(v.string(), v.url()),
  apiKey: v.optional(v.pipe(v.string(), v.minLength(1))),
  text: v.pipe(v.string(), v.minLength(1)),
  voice: v.optional(v.pipe(v.string(), v.minLength(1))),
  language: v.optional(v.pipe(v.string(), v.minLength(1))),
  model: v.optional(v.pipe(v.string(), v.minLength(1))),
  speed: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0.1), v.maxValue(10))),
  pitch: v.optional(v.pipe(v.number(), v.finite())),
  format: v.optional(v.picklist(['mp3', 'pcm', 'wav'])),
  timestamps: v.optional(v.boolean()),
  fetch: v.optional(v.custom((x) => typeof x === 'function')),
});

const anyValue = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.constantFrom('http://127.0.0.1:8080', 'https://api.example.com/', 'not a url', 'mp3', 'pcm', 'ogg', ''),
  fc.double(),
  fc.constantFrom(0.1, 10, 10.5, 0.05, Infinity, Number.NaN),
  fc.boolean(),
  fc.constant(null),
  fc.constant(() => undefined),
  fc.constant(undefined),
);
const keys = ['baseUrl', 'apiKey', 'text', 'voice', 'language', 'model', 'speed', 'pitch', 'format', 'timestamps', 'fetch', 'other'];

describe('checkOptions', () => {
  it('property: ttsSource accepts exactly the options its valibot schema accepted, and a refusal is a bad-request naming the stage and each bad option', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), anyValue), fc.boolean(), (random, base) => {
        const options = base ? { baseUrl: 'http://127.0.0.1:1', text: 'Hi', ...random } : random;
        const expected = v.safeParse(reference, options);
        let error: unknown;
        try {
          ttsSource(options as never);
        } catch (e) {
          error = e;
        }
        expect(error === undefined).toBe(expected.success);
        if (!expected.success) {
          expect(error).toBeInstanceOf(VoxpipeError);
          expect(error).toMatchObject({ code: 'bad-request', stage: 'ttsSource' });
          for (const issue of expected.issues) {
            const key = v.getDotPath(issue) ?? (issue.type === 'strict_object' ? String((issue.input as unknown) ?? '') : undefined);
            if (key && keys.includes(key)) expect((error as Error).message).toContain(`${key}:`);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('fills defaults, keeps what was given, and names every problem at once', () => {
    const rules = { voice: nonEmptyString, speed: numberIn(0.5, 2), mode: oneOf(['a', 'b']), size: either(numberIn(0, 10, true), oneOf([true, false])) };
    expect(checkOptions('s', { voice: 'x' }, rules, { defaults: { speed: 1, mode: 'a' } })).toEqual({ voice: 'x', speed: 1, mode: 'a' });
    expect(checkOptions('s', { size: true, speed: 2 }, rules)).toEqual({ size: true, speed: 2 });
    expect(() => checkOptions('s', { voice: '', speed: 3, mode: 'c', size: 1.5, extra: 1 }, rules)).toThrow(
      /Bad options for "s": extra: unknown option; voice: must not be empty; speed: expected at most 2, received 3; mode: expected "a" \| "b", received "c"; size: expected an integer, received 1.5, or expected true \| false, received number/,
    );
    expect(() => checkOptions('s', {}, rules, { required: ['voice'] })).toThrow(/voice: required/);
    expect(() => checkOptions('s', 'text', rules)).toThrow(/expected an object/);
  });
});
