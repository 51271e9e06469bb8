import type { PcmChunk } from '@voxpipe/core';
import type { InnerDecoder, Warn } from './inner-decoder.js';
import { InterleavedReader, type InterleavedEncoding } from './interleaved.js';

/** The decoder of the `decode` stage for headerless bytes: raw PCM, µ-law or A-law, interleaved. */
export class RawDecoder implements InnerDecoder {
  readonly #reader: InterleavedReader;

  constructor(
    private readonly warn: Warn,
    encoding: InterleavedEncoding,
    sampleRate: number,
    channels: number,
  ) {
    this.#reader = new InterleavedReader(encoding, channels, sampleRate);
  }

  push(bytes: Uint8Array): PcmChunk[] {
    const chunk = this.#reader.push(bytes);
    return chunk ? [chunk] : [];
  }

  end(): PcmChunk[] {
    const pending = this.#reader.pending;
    if (pending > 0) this.warn(`${this.#reader.encoding}: dropped ${pending} trailing bytes of an unfinished sample frame`);
    return [];
  }

  free(): void {}
}
