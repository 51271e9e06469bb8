import type * as Fusion from './fusion.js';

let loaded: typeof Fusion | undefined;

/** The fusion code, once loaded; until then stages run each in a stream of their own (the same chunks, more hops). */
export function loadedFusion(): typeof Fusion | undefined {
  return loaded;
}

/**
 * Loads what runs synchronous stages fused (a chunk of its own in a
 * browser bundle). Runs load it themselves when they have synchronous stages
 * or composites; call it only where you create composites' streams by hand
 * (`stage.create(ctx, format)` outside a run) and want them fused from the
 * first chunk. Until it has loaded they run unfused: the same chunks.
 *
 * ```ts
 * await preloadFusion(); const stream = compose(gain({ db: -6 }), pcmEncode()).create(ctx, format);
 * ```
 */
export async function preloadFusion(): Promise<void> {
  loaded ??= await import('./fusion.js');
}
