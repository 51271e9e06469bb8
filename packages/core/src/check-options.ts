import { VoxpipeError } from './errors.js';

/**
 * Option checks for the stages a browser player loads (ttsSource and the
 * Web Audio sinks), written out so that player carries no schema library:
 * the same `bad-request` errors as `parseOptions` (stage, option, what was
 * wrong), in a few hundred bytes. Stages off that path keep their valibot
 * schemas, which also give their option types.
 */

/** One option's rule: what is wrong with `value`, or undefined when it is fine (never called with undefined). */
export type OptionRule = (value: unknown) => string | undefined;

/** A rule per option; the value is required when `required` lists it, else it may be absent or undefined. */
export type OptionRules<T> = { readonly [K in keyof T]-?: OptionRule };

/**
 * Checks `options` against `rules` (no other keys allowed) and returns a
 * copy with `defaults` filled in where an option is absent. Bad options throw
 * a `bad-request` VoxpipeError that names the stage and every bad option.
 *
 * ```ts
 * const o = checkOptions('ttsSource', options, { text: nonEmptyString, speed: numberIn(0.1, 10) }, { required: ['text'] });
 * ```
 */
export function checkOptions<T extends object>(stage: string, options: unknown, rules: OptionRules<T>, settings: { required?: readonly (keyof T)[]; defaults?: Partial<T> } = {}): T {
  const given = options ?? {};
  const problems = problemsOf(given, rules, settings.required);
  if (problems.length > 0) throw new VoxpipeError('bad-request', `Bad options for "${stage}": ${problems.join('; ')}`, { stage });
  const out: Record<string, unknown> = { ...settings.defaults };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  return out as T;
}

/** What is wrong with `given` by `rules` (unknown keys included), each as `key: problem`. */
function problemsOf<T extends object>(given: unknown, rules: OptionRules<T>, required: readonly (keyof T)[] = []): string[] {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return [`expected an object, received ${describe(given)}`];
  const record = given as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(record)) if (!Object.hasOwn(rules, key)) problems.push(`${key}: unknown option`);
  for (const key of Object.keys(rules) as (keyof T & string)[]) {
    const value = record[key];
    if (value === undefined) {
      if (required.includes(key)) problems.push(`${key}: required`);
      continue;
    }
    const problem = (rules[key] as OptionRule)(value);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  return problems;
}

/** An object of options of its own, checked by `rules` (no other keys). */
export function shape<T extends object>(rules: OptionRules<T>): OptionRule {
  return (x) => {
    const problems = problemsOf(x, rules);
    return problems.length > 0 ? problems.join(', ') : undefined;
  };
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'string' ? `"${value}"` : typeof value;
}

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
