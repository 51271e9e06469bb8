import { VoxpipeError, type Engine } from '@voxpipe/core';

/** The engine package the server loads when it is given no engine (GPL-3.0, so loaded only when used). */
export const DEFAULT_ENGINE_MODULE = '@voxpipe/engine-espeak';

/**
 * Loads an engine package by name and starts its engine: the module must
 * export `createEngine()` or `createEspeakEngine()`. A package that is not
 * installed is a clear `internal` error that says what to install, rather
 * than a module-resolution stack trace. `engineOptions`, when given, are
 * passed to the factory (e.g. `{ workers: 1 }` for the espeak engine).
 *
 * ```ts
 * const engine = await loadEngine('@voxpipe/engine-espeak');
 * ```
 */
export async function loadEngine(moduleName: string = DEFAULT_ENGINE_MODULE, engineOptions?: Record<string, unknown>): Promise<Engine> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(moduleName)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)/.test(String((error as Error)?.message))) {
      throw new VoxpipeError(
        'internal',
        `The speech engine package "${moduleName}" is not installed. Install it (npm install ${moduleName}${moduleName === DEFAULT_ENGINE_MODULE ? ', GPL-3.0' : ''}) or give the server an engine: createServer({ engine })`,
        { cause: error },
      );
    }
    throw new VoxpipeError('internal', `The speech engine package "${moduleName}" failed to load: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  const factory = loaded.createEngine ?? loaded.createEspeakEngine;
  if (typeof factory !== 'function') {
    throw new VoxpipeError('internal', `The module "${moduleName}" is not a speech engine package: it exports neither createEngine() nor createEspeakEngine()`);
  }
  const create = factory as (options?: Record<string, unknown>) => Promise<Engine> | Engine;
  return await (engineOptions === undefined ? create() : create(engineOptions));
}
