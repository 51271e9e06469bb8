import * as v from 'valibot';
import { VoxpipeError } from './errors.js';
import { compose } from './compose.js';
import { assemble, assemblePipeline, type Pipeline, type PipelineSpec, type Run, type RunOptions } from './pipeline.js';
import type { AnyStage, SinkStage, SourceStage, StageSpec, TransformStage } from './stage.js';

/** A stage factory the registry can call with JSON options. */
export type StageFactory = (options?: any) => AnyStage;

/** Stage names → factories. Merge registries with object spread. */
export type Registry = Readonly<Record<string, StageFactory>>;

const specSchema = v.strictObject({
  stages: v.pipe(
    v.array(
      v.strictObject({
        stage: v.pipe(v.string(), v.minLength(1)),
        options: v.optional(v.record(v.string(), v.unknown())),
      }),
    ),
    v.minLength(2, 'A pipeline needs at least a source and a sink'),
  ),
});

/**
 * Builds a pipeline from data: each stage's name is looked up in the
 * registry and its options are checked by its factory. Unknown names, bad
 * options and misfitting formats are `bad-request` / `format` errors.
 *
 * ```ts
 * const p = assembleFromSpec({ stages: [{ stage: 'tone', options: { ms: 200 } }, { stage: 'collect' }] }, coreStages);
 * await p.run().done;
 * ```
 */
export function assembleFromSpec<R = unknown>(spec: unknown, registry: Registry): Pipeline<R> {
  const parsed = v.safeParse(specSchema, typeof spec === 'string' ? parseJson(spec) : spec);
  if (!parsed.success) {
    const problems = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'spec'}: ${issue.message}`);
    throw new VoxpipeError('bad-request', `Bad pipeline spec: ${problems.join('; ')}`);
  }
  const stages = parsed.output.stages.map((entry, i) => buildStage(entry, registry, `stages[${i}]`));
  return assemblePipeline(stages as [...AnyStage[], SinkStage<any, R>]);
}

const compositeSchema = v.strictObject({
  stages: v.pipe(v.array(v.strictObject({ stage: v.pipe(v.string(), v.minLength(1)), options: v.optional(v.record(v.string(), v.unknown())) })), v.minLength(1)),
});

/** One stage from its spec; `compose` and `assemble` (a composite's spec) build their parts from the same registry. */
function buildStage(entry: StageSpec, registry: Registry, at: string): AnyStage {
  const factory = Object.hasOwn(registry, entry.stage) ? registry[entry.stage] : undefined;
  if (factory) return factory(entry.options ?? {});
  if (entry.stage === 'compose' || entry.stage === 'assemble') {
    const parsed = v.safeParse(compositeSchema, entry.options ?? {});
    if (!parsed.success) throw new VoxpipeError('bad-request', `Bad ${entry.stage} at ${at}: options.stages must list one or more stages`);
    const parts = parsed.output.stages.map((part, i) => buildStage(part, registry, `${at}.options.stages[${i}]`));
    return entry.stage === 'compose' ? compose(...(parts as TransformStage[])) : assemble(...(parts as [SourceStage, ...TransformStage[]]));
  }
  const known = [...Object.keys(registry), 'assemble', 'compose'].sort().join(', ');
  throw new VoxpipeError('bad-request', `Unknown stage "${entry.stage}" at ${at} (known: ${known})`);
}

/** Builds a pipeline from data and runs it (see `assembleFromSpec`). */
export function runSpec<R = unknown>(spec: unknown, registry: Registry, options?: RunOptions): Run<R> {
  return assembleFromSpec<R>(spec, registry).run(options);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new VoxpipeError('bad-request', `Pipeline spec is not valid JSON: ${(error as Error).message}`);
  }
}

export type { PipelineSpec };
