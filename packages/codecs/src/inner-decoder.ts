import type { PcmChunk } from '@voxpipe/core';

/**
 * One container's decoder inside the `decode` stage: bytes in, planar PCM out,
 * whatever the chunking. Internal to the codecs package. The WASM decoders of
 * Opus, FLAC and Vorbis answer with promises; the stage awaits each call
 * before the next.
 */
export interface InnerDecoder {
  /** Takes the next bytes; returns the PCM they completed (often none or one chunk). */
  push(bytes: Uint8Array): PcmChunk[] | Promise<PcmChunk[]>;
  /** The input ended: returns what was held back. Throws a `decode` VoxpipeError when the input was unusable. */
  end(): PcmChunk[] | Promise<PcmChunk[]>;
  /** Frees whatever the decoder holds (WASM memory). Safe to call more than once. */
  free(): void;
}

/** How an inner decoder reports a handled problem (becomes a `warning` event with code `decode`). */
export type Warn = (message: string) => void;

/** Joins byte arrays. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  if (b.byteLength === 0) return a;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
