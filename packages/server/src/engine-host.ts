import { warmMp3Encoders } from '@voxpipe/codecs';
import type { Engine, EngineVoice } from '@voxpipe/core';
import { buildVoiceCatalog, type PublicVoice } from './catalog.js';
import { loadEngine } from './engine-loader.js';

/** A started engine with the voices the API offers on it. */
export interface ReadyEngine {
  engine: Engine;
  /** The engine's own voices. */
  voices: readonly EngineVoice[];
  /** The public names (Peter, Anna, …) per language, mapped to engine voices. */
  catalog: PublicVoice[];
}

export interface EngineHost {
  /** Starts the engine once (later calls share the start) and resolves when it is warm. */
  ready(): Promise<ReadyEngine>;
  /** The engine once started; undefined while starting. */
  current(): ReadyEngine | undefined;
  /** Closes the engine if the host loaded it (a given engine is its owner's to close). */
  close(): Promise<void>;
}

/**
 * Holds the server's engine: the one given, or the engine package loaded by
 * name (with its factory's options) on first use (then closed with the server), seen through `wrap`
 * (metering). Warming two MP3 encoders
 * alongside lets the first MP3 streams skip LAME's start-up.
 *
 * ```ts
 * const host = engineHost({ load: '@voxpipe/engine-espeak' });
 * const { engine, catalog } = await host.ready();
 * ```
 */
export function engineHost(source: { given: Engine | Promise<Engine> } | { load: string; options?: Record<string, unknown> }, wrap: (engine: Engine) => Engine = (engine) => engine): EngineHost {
  let starting: Promise<ReadyEngine> | undefined;
  let started: ReadyEngine | undefined;
  const ready = () =>
    (starting ??= Promise.all(['given' in source ? source.given : loadEngine(source.load, source.options), warmMp3Encoders(2).catch(() => {})]).then(([loaded]) => {
      const engine = wrap(loaded);
      const voices = engine.voices();
      started = { engine, voices, catalog: buildVoiceCatalog(voices) };
      return started;
    }));
  return {
    ready,
    current: () => started,
    async close() {
      if ('load' in source && starting) await (await starting.catch(() => undefined))?.engine.close();
    },
  };
}
