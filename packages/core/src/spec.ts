import { VoxpipeError } from './errors.js';
import { compose } from './compose.js';
import { assemble, assemblePipeline, type Pipeline, type PipelineSpec, type Run, type RunOptions } from './pipeline.js';
import type { AnyStage, SinkStage, SourceStage, StageSpec, TransformStage } from './stage.js';

/** A stage factory the registry can call with JSON options. */
export type StageFactory = (options?: any) => AnyStage;

/** Stage names → factories. Merge registries with object spread. */
export type Registry = Readonly<Record<string, StageFactory>>;

/**
 * The stage entries of a spec (`{ stages: [{ stage, options? }, …] }`, nothing
 * else), or the problems with it, each at its path. Checked by hand: `pipeline`
 * carries `fromSpec`, so this code is in every bundle that runs a pipeline.
 */
function stageEntries(spec: unknown, at: string): { entries?: StageSpec[]; problems: string[] } {
  const problems: string[] = [];
  const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isRecord(spec)) return { problems: [`${at}: expected an object`] };
  for (const key of Object.keys(spec)) if (key !== 'stages') problems.push(`${at}.${key}: unknown key`);
  const { stages } = spec;
  if (!Array.isArray(stages)) return { problems: [...problems, `${at}.stages: expected an array`] };
  stages.forEach((entry: unknown, i) => {
    const where = `${at}.stages[${i}]`;
    if (!isRecord(entry)) return void problems.push(`${where}: expected an object`);
    for (const key of Object.keys(entry)) if (key !== 'stage' && key !== 'options') problems.push(`${where}.${key}: unknown key`);
    if (typeof entry.stage !== 'string' || entry.stage.length === 0) problems.push(`${where}.stage: expected a stage name`);
    if (entry.options !== undefined && !isRecord(entry.options)) problems.push(`${where}.options: expected an object`);
  });
  return problems.length > 0 ? { problems } : { entries: stages as StageSpec[], problems };
}

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
  const { entries, problems } = stageEntries(typeof spec === 'string' ? parseJson(spec) : spec, 'spec');
  if (!entries) throw new VoxpipeError('bad-request', `Bad pipeline spec: ${problems.join('; ')}`);
  if (entries.length < 2) throw new VoxpipeError('bad-request', 'Bad pipeline spec: A pipeline needs at least a source and a sink');
  const stages = entries.map((entry, i) => buildStage(entry, registry, `stages[${i}]`));
  return assemblePipeline(stages as [...AnyStage[], SinkStage<any, R>]);
}

/** One stage from its spec; `compose` and `assemble` (a composite's spec) build their parts from the same registry. */
function buildStage(entry: StageSpec, registry: Registry, at: string): AnyStage {
  const factory = Object.hasOwn(registry, entry.stage) ? registry[entry.stage] : undefined;
  if (factory) return factory(entry.options ?? {});
  if (entry.stage === 'compose' || entry.stage === 'assemble') {
    const { entries } = stageEntries(entry.options ?? {}, 'options');
    if (!entries || entries.length === 0) throw new VoxpipeError('bad-request', `Bad ${entry.stage} at ${at}: options.stages must list one or more stages`);
    const parts = entries.map((part, i) => buildStage(part, registry, `${at}.options.stages[${i}]`));
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
