/**
 * The rules `checkOptions` checks options with (core's index exports them as
 * `optionRules`): each says what is wrong with a value, or nothing.
 *
 * ```ts
 * const rules: OptionRules<{ speed?: number }> = { speed: optionRules.numberIn(0.1, 10) };
 * ```
 */
import { describe, problemsOf, type OptionRule, type OptionRules } from './check-options.js';

/** A string of at least one character. */
export const nonEmptyString: OptionRule = (x) => (typeof x !== 'string' ? `expected a string, received ${describe(x)}` : x.length === 0 ? 'must not be empty' : undefined);

/** Any string. */
export const anyString: OptionRule = (x) => (typeof x === 'string' ? undefined : `expected a string, received ${describe(x)}`);

/** An absolute URL (as `new URL` reads it). */
export const url: OptionRule = (x) => {
  if (typeof x !== 'string') return `expected a URL string, received ${describe(x)}`;
  try {
    new URL(x);
    return undefined;
  } catch {
    return `invalid URL "${x}"`;
  }
};

/** true or false. */
export const boolean: OptionRule = (x) => (typeof x === 'boolean' ? undefined : `expected a boolean, received ${describe(x)}`);

/** A function. */
export const fn: OptionRule = (x) => (typeof x === 'function' ? undefined : `expected a function, received ${describe(x)}`);

/** A finite number from `min` to `max` (inclusive); whole with `integer`. */
export function numberIn(min = -Infinity, max = Infinity, integer = false): OptionRule {
  return (x) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) return `expected a finite number, received ${typeof x === 'number' ? x : describe(x)}`;
    if (integer && !Number.isInteger(x)) return `expected an integer, received ${x}`;
    if (x < min) return `expected at least ${min}, received ${x}`;
    if (x > max) return `expected at most ${max}, received ${x}`;
    return undefined;
  };
}

/** One of `values`. */
export function oneOf(values: readonly unknown[]): OptionRule {
  return (x) => (values.includes(x) ? undefined : `expected ${values.map((v) => JSON.stringify(v)).join(' | ')}, received ${describe(x)}`);
}

/** Passes when any of `rules` does. */
export function either(...rules: OptionRule[]): OptionRule {
  return (x) => {
    const problems = rules.map((rule) => rule(x));
    return problems.includes(undefined) ? undefined : problems.join(', or ');
  };
}

/** An object that `test` accepts; `message` says what was expected. */
export function object(test: (x: Record<string, unknown>) => boolean, message: string): OptionRule {
  return (x) => (typeof x === 'object' && x !== null && test(x as Record<string, unknown>) ? undefined : message);
}

/** An object of options of its own, checked by `rules` (no other keys). */
export function shape<T extends object>(rules: OptionRules<T>): OptionRule {
  return (x) => {
    const problems = problemsOf(x, rules);
    return problems.length > 0 ? problems.join(', ') : undefined;
  };
}
