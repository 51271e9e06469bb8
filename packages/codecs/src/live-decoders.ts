/** The codecs whose decoders hold WASM memory. */
export type WasmCodec = 'mp3' | 'opus' | 'flac' | 'vorbis';

const live: Record<WasmCodec, number> = { mp3: 0, opus: 0, flac: 0, vorbis: 0 };

/** Counts a decoder made (`+1`) or freed (`-1`). Internal to the codecs package. */
export function countDecoder(codec: WasmCodec, delta: 1 | -1): void {
  live[codec] += delta;
}

/**
 * How many WASM decoders streams hold right now, of one codec or all (for
 * leak tests: every run frees its decoder however it ends; warm spares not counted).
 *
 * ```ts
 * await run.done;
 * liveDecoders(); // 0
 * ```
 */
export function liveDecoders(codec?: WasmCodec): number {
  return codec ? live[codec] : live.mp3 + live.opus + live.flac + live.vorbis;
}

/** How many MP3 decoders streams hold right now (for leak tests; warm spares not counted). */
export function liveMp3Decoders(): number {
  return live.mp3;
}
