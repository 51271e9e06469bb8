import { createContext, type ContextScope } from './context.js';
import { VoxpipeError } from './errors.js';
import { describeFormat, formatMismatch, type Format } from './format.js';
import { loadedFusion } from './load-fusion.js';
import type { SourceStage, StageContext, StageSpec, StageTransformer, TransformPair, TransformStage } from './stage.js';
import { TransformStream } from './streams.js';

/** The error for two stages that do not fit: it names both stages and both formats. */
export function mismatchError(taker: { name: string; takes: Format }, giverName: string, given: Format): VoxpipeError {
  return new VoxpipeError('format', `"${taker.name}" takes ${describeFormat(taker.takes)} but "${giverName}" gives ${describeFormat(given)}`, { stage: taker.name });
}

/**
 * Checks that `stages` fit one after another after `giver`, which gives
 * `given`, and returns the format between each pair: formats[0] is `given`,
 * the last is what the last stage gives.
 */
export function chainFormats(giver: string, given: Format, stages: readonly TransformStage[]): Format[] {
  const formats = [given];
  let current = given;
  let from = giver;
  for (const stage of stages) {
    if (stage.role !== 'transform') throw new VoxpipeError('format', `"${stage.name}" is a ${(stage as { role: string }).role}, not a transform`, { stage: stage.name });
    if (formatMismatch(current, stage.takes)) throw mismatchError(stage, from, current);
    current = stage.gives(current);
    formats.push(current);
    from = stage.name;
  }
  return formats;
}

/** The spec of a composite, when every part has one. */
function compositeSpec(kind: 'compose' | 'assemble', parts: readonly { spec?: StageSpec }[]): StageSpec | undefined {
  if (!parts.every((part) => part.spec)) return undefined;
  return { stage: kind, options: { stages: parts.map((part) => part.spec!) } };
}

/** Runs `stages` one after another on `readable`, each with its own context from `scope`. */
export function pipeStages(readable: ReadableStream<unknown>, formats: readonly Format[], stages: readonly TransformStage[], scope: ContextScope): ReadableStream<unknown> {
  for (const pair of createStages(formats, stages, scope)) readable = readable.pipeThrough(pair, { signal: scope.signal });
  return readable;
}

/**
 * The streams of one run of `stages` (formats[i] enters stages[i]), each
 * stage with its own context from `scope`: two or more consecutive stages
 * that have a `syncTransformer` share one TransformStream (fused); any
 * other stage gets the stream its `create` makes.
 */
function createStages(formats: readonly Format[], stages: readonly TransformStage[], scope: ContextScope): TransformPair<unknown, unknown>[] {
  const pairs: TransformPair<unknown, unknown>[] = [];
  const fuse = loadedFusion() !== undefined;
  for (let i = 0; i < stages.length; ) {
    let end = i;
    while (fuse && end < stages.length && stages[end].syncTransformer) end++;
    if (end - i >= 2) {
      pairs.push(new TransformStream(fusedTransformer(formats.slice(i), stages.slice(i, end), scope)));
      i = end;
    } else {
      const stage = stages[i];
      pairs.push(stage.create(scope.for(stage.name, stage), formats[i]));
      i++;
    }
  }
  return pairs;
}

/** One transformer for synchronous `stages`, each made with its own context (formats[i] enters stages[i]). */
export function fusedTransformer(formats: readonly Format[], stages: readonly TransformStage[], scope: ContextScope): StageTransformer<unknown, unknown> {
  const fusion = loadedFusion();
  if (!fusion) throw new VoxpipeError('internal', `"${stages.map((stage) => stage.name).join('+')}" runs fused only once fusion has loaded (preloadFusion())`);
  return fusion.fuseTransformers(stages.map((stage, i) => ({ name: stage.name, transformer: stage.syncTransformer!(scope.for(stage.name, stage), formats[i]), input: stage.syncInput })));
}

/** The scope for the stages a composite runs inside `ctx`'s run: they see the run's declared format, and end with it. */
function innerScope(ctx: StageContext): ContextScope {
  const scope = createContext({ parent: ctx, signal: ctx.signal, shareDeclared: true });
  ctx.defer(() => scope.finish());
  return scope;
}

/**
 * Several transform stages as one: a transform that takes what the first
 * takes and gives what the last gives, checked when composed. Use it to name
 * a chain you use in several places (decode → resample → pcmEncode) and pass
 * it wherever a transform goes, a composite included.
 *
 * ```ts
 * const toTelephony = compose(decode(), resample({ rate: 8000 }), mulawEncode());
 * pipeline(ttsSource(options), toTelephony, rawFile('call.ulaw'));
 * ```
 */
export function compose<I = unknown, O = unknown>(...stages: TransformStage[]): TransformStage<I, O> {
  if (stages.length === 0) throw new VoxpipeError('format', 'compose needs at least one transform');
  const [first] = stages;
  chainFormats(first.name, first.gives(first.takes), stages.slice(1));
  const gives = (input: Format) => stages.reduce((format, stage) => stage.gives(format), input);
  const formatsFrom = (input: Format) => [input, ...chainFormats(first.name, first.gives(input), stages.slice(1))];
  const composite: TransformStage<I, O> = {
    role: 'transform',
    name: stages.map((stage) => stage.name).join('+'),
    takes: first.takes,
    gives,
    spec: compositeSpec('compose', stages),
    create(ctx, input) {
      const [head, ...rest] = createStages(formatsFrom(input), stages, innerScope(ctx));
      let readable = head.readable;
      for (const pair of rest) readable = readable.pipeThrough(pair, { signal: ctx.signal });
      return { writable: head.writable as WritableStream<I>, readable: readable as ReadableStream<O> };
    },
  };
  // all synchronous: the composite is too, so it fuses with its neighbours
  if (stages.every((stage) => stage.syncTransformer)) {
    return composed({ ...composite, syncTransformer: (ctx, input) => fusedTransformer(formatsFrom(input), stages, innerScope(ctx)) as StageTransformer<I, O> });
  }
  return composed(composite);
}

/** Composites (of `compose` and `assemble`): their stages may fuse inside them. */
const composites = new WeakSet<object>();

function composed<S extends object>(stage: S): S {
  composites.add(stage);
  return stage;
}

/** Whether a run of `stages` may fuse some of them: one is synchronous, or a composite (which may hold synchronous stages). */
export function wantsFusion(stages: readonly object[]): boolean {
  return stages.some((stage) => composites.has(stage) || (stage as Partial<TransformStage>).syncTransformer !== undefined);
}

/**
 * A source with transforms after it, as one source (what `assemble` gives
 * without a sink). `parts` are the stages as written, for the spec (a
 * wrapped source is written as its source and its wrapper).
 */
export function composeSource<O>(source: SourceStage, stages: readonly TransformStage[], parts: readonly { spec?: StageSpec }[] = [source, ...stages]): SourceStage<O> {
  const formats = chainFormats(source.name, source.gives, stages);
  return composed({
    role: 'source',
    name: [source, ...stages].map((stage) => stage.name).join('+'),
    gives: formats[formats.length - 1],
    spec: compositeSpec('assemble', parts),
    open(ctx) {
      const scope = innerScope(ctx);
      return pipeStages(source.open(scope.for(source.name, source)), formats, stages, scope) as ReadableStream<O>;
    },
  });
}
