import type { InnerDecoder, Warn } from './inner-decoder.js';

/** The containers whose decoders are WASM, loaded the first time a stream needs one. */
export type LoadedCodec = 'mp3' | 'opus' | 'flac' | 'vorbis';

/** What each decoder module gives the `decode` stage. */
interface DecoderModule {
  createDecoder(warn: Warn, options: { channels?: number; declared?: boolean }): InnerDecoder & { readonly ready?: Promise<void> };
  /** Starts the WASM (compiles it, or readies a spare) so the first stream does not wait for it. */
  prepare(): Promise<void>;
}

// Each a dynamic import: bundlers put every decoder in a chunk of its own, fetched only by a page that meets its format.
const IMPORTS: Record<LoadedCodec, () => Promise<DecoderModule>> = {
  mp3: () => import('./mp3-decoder.js'),
  opus: () => import('./opus-decoder.js'),
  flac: () => import('./flac-decoder.js'),
  vorbis: () => import('./vorbis-decoder.js'),
};

const loading = new Map<LoadedCodec, Promise<DecoderModule>>();
const prepared = new Map<LoadedCodec, Promise<void>>();
const ready = new Set<LoadedCodec>();

/** Whether `codec`'s decoder is loaded and its WASM started (for tests and benchmarks). */
export function decoderReady(codec: LoadedCodec): boolean {
  return ready.has(codec);
}

/** Whether `container` is decoded by a WASM decoder that is loaded on demand. */
export function isLoadedCodec(container: string | undefined): container is LoadedCodec {
  return container !== undefined && Object.hasOwn(IMPORTS, container);
}

/** The decoder module for `codec`, imported once (a failed import is tried again next time). */
export function loadDecoder(codec: LoadedCodec): Promise<DecoderModule> {
  let module = loading.get(codec);
  if (!module) {
    module = IMPORTS[codec]();
    loading.set(codec, module);
    module.catch(() => loading.delete(codec));
  }
  return module;
}

/**
 * Starts loading `codec`'s decoder and its WASM now, so the stream's first
 * bytes find it ready (`decode()` calls it as soon as Content-Type names the
 * format; call it at start-up to load sooner). Failures surface when the
 * decoder is used.
 *
 * ```ts
 * await preloadDecoder('opus');
 * ```
 */
export function preloadDecoder(codec: LoadedCodec): Promise<void> {
  let preparing = prepared.get(codec);
  if (!preparing) {
    preparing = loadDecoder(codec)
      .then((module) => module.prepare())
      .then(() => void ready.add(codec));
    prepared.set(codec, preparing);
    preparing.catch(() => prepared.delete(codec));
  }
  return preparing;
}

/**
 * Keeps `count` MP3 decoders started and ready, so a stream's first frame
 * decodes without waiting for WASM (`decode()` asks for one when it may meet
 * MP3; call this at start-up to have them sooner). Loads the MP3 decoder.
 *
 * ```ts
 * await warmMp3Decoders(2);
 * ```
 */
export async function warmMp3Decoders(count = 1): Promise<void> {
  const mp3 = (await loadDecoder('mp3')) as DecoderModule & { warmMp3Decoders(count: number): Promise<void> };
  await mp3.warmMp3Decoders(count);
}
