import * as v from 'valibot';
import { VoxpipeError } from './errors.js';

/**
 * Checks a stage's options against its schema and returns them parsed
 * (defaults filled in). Bad options throw a `bad-request` VoxpipeError that
 * names the stage, the option and what was wrong.
 */
export function parseOptions<S extends v.GenericSchema>(stage: string, schema: S, options: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, options ?? {});
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => {
    const path = v.getDotPath(issue);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new VoxpipeError('bad-request', `Bad options for "${stage}": ${problems.join('; ')}`, { stage });
}

/** A positive sample rate in Hz. */
export const sampleRateSchema = v.pipe(v.number(), v.integer(), v.minValue(1000), v.maxValue(384000));
/** A channel count. */
export const channelsSchema = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32));
/** A non-negative duration in milliseconds. */
export const msSchema = v.pipe(v.number(), v.finite(), v.minValue(0));
