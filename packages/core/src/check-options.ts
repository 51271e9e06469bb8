import { VoxpipeError } from './errors.js';

/**
 * Option checks for the stages a browser player loads (ttsSource, decode,
 * audioWorkletSink), written out so that player carries no schema library:
 * the same `bad-request` errors as `parseOptions` (stage, option, what was
 * wrong), in about a kilobyte. The rules are in check-options-rules.ts.
 * Stages off that path keep their valibot schemas, which also give their
 * option types.
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
 * const o = checkOptions('ttsSource', options, { text: optionRules.nonEmptyString, speed: optionRules.numberIn(0.1, 10) }, { required: ['text'] });
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
export function problemsOf<T extends object>(given: unknown, rules: OptionRules<T>, required: readonly (keyof T)[] = []): string[] {
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

/** How a value is named in a problem: `"text"`, `null`, `an array`, `number` … */
export function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'string' ? `"${value}"` : typeof value;
}
