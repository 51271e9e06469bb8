import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import type { InnerDecoder, Warn } from './inner-decoder.js';
import { WasmStreamDecoder, type WasmStreamLibrary } from './wasm-stream-decoder.js';

/**
 * The Ogg Vorbis decoder of the `decode` stage (@wasm-audio-decoders/ogg-vorbis:
 * libvorbis in WASM), at the stream's own rate and channels; the last page's
 * granule position trims the end. libvorbis's errors come back in an array
 * (this build prints nothing) and become warnings.
 */
export function createDecoder(warn: Warn, options: { channels?: number } = {}): InnerDecoder {
  return new WasmStreamDecoder('vorbis', 'Vorbis', () => new OggVorbisDecoder() as unknown as WasmStreamLibrary, warn, options);
}

/** Compiles the WASM ahead of the first stream (`decode()` calls it when Content-Type names Vorbis). */
export async function prepare(): Promise<void> {
  const library = new OggVorbisDecoder();
  await library.ready;
  library.free();
}
