import { VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { concatBytes, type InnerDecoder, type Warn } from './inner-decoder.js';
import { InterleavedReader, type InterleavedEncoding } from './interleaved.js';

/** The facts of a WAV file's `fmt ` chunk that decoding needs. */
export interface WavFormat {
  encoding: InterleavedEncoding;
  sampleRate: number;
  channels: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** `fmt ` chunks larger than this are not WAV files we can read. */
const MAX_FMT_BYTES = 4096;
/** Data sizes that mean "unknown, read to the end" (streaming writers). */
const PLACEHOLDER_SIZES = new Set([0, 0xffffffff, 0x7fffffff]);

type State = 'riff' | 'chunk-header' | 'fmt' | 'skip' | 'data' | 'after-data';

/**
 * The WAV decoder of the `decode` stage, streaming: it reads the RIFF header
 * and chunks as they arrive, skips chunks it does not need (LIST, fact, …),
 * reads PCM 8/16/24/32-bit, float 32/64-bit, µ-law and A-law (plain or
 * WAVE_FORMAT_EXTENSIBLE), any rate and channel count. A data size of 0,
 * 0x7FFFFFFF or 0xFFFFFFFF (written by streaming encoders) means "to the end".
 */
export class WavDecoder implements InnerDecoder {
  #state: State = 'riff';
  #buffer: Uint8Array = new Uint8Array(0);
  #need = 12;
  #chunkId = '';
  #skip = 0;
  #dataLeft = Infinity;
  #dataExpected: number | undefined;
  #dataRead = 0;
  #reader: InterleavedReader | undefined;
  #bytesIn = 0;

  constructor(private readonly warn: Warn) {}

  /** The format, once the `fmt ` chunk was read. */
  get format(): WavFormat | undefined {
    const r = this.#reader;
    return r && { encoding: r.encoding, sampleRate: r.sampleRate, channels: r.channels };
  }

  push(bytes: Uint8Array): PcmChunk[] {
    this.#bytesIn += bytes.byteLength;
    const out: PcmChunk[] = [];
    let input = bytes;
    while (input.byteLength > 0) {
      switch (this.#state) {
        case 'skip':
        case 'after-data': {
          const n = Math.min(this.#skip, input.byteLength);
          this.#skip -= n;
          input = input.subarray(n);
          if (this.#skip === 0 && this.#state === 'skip') this.#expect('chunk-header', 8);
          if (this.#state === 'after-data') return out; // trailing chunks are not audio
          break;
        }
        case 'data': {
          const n = Math.min(this.#dataLeft, input.byteLength);
          const chunk = this.#reader!.push(input.subarray(0, n));
          this.#dataRead += n;
          this.#dataLeft -= n;
          input = input.subarray(n);
          if (chunk) out.push(chunk);
          if (this.#dataLeft === 0) {
            this.#state = 'after-data';
            this.#skip = Infinity;
          }
          break;
        }
        default: {
          const take = Math.min(this.#need - this.#buffer.byteLength, input.byteLength);
          this.#buffer = concatBytes(this.#buffer, input.slice(0, take));
          input = input.subarray(take);
          if (this.#buffer.byteLength === this.#need) this.#parse(this.#buffer);
        }
      }
    }
    return out;
  }

  end(): PcmChunk[] {
    if (!this.#reader || (this.#state !== 'data' && this.#state !== 'after-data')) {
      if (this.#bytesIn === 0) return [];
      throw new VoxpipeError('decode', `The WAV stream ended inside its header (after ${this.#bytesIn} bytes, reading ${this.#state === 'riff' ? 'the RIFF header' : this.#chunkId ? `chunk "${this.#chunkId}"` : 'chunks'}) before any audio`);
    }
    if (this.#reader.pending > 0) this.warn(`WAV: dropped ${this.#reader.pending} trailing bytes of an unfinished sample frame`);
    if (this.#dataExpected !== undefined && this.#dataRead < this.#dataExpected) {
      this.warn(`WAV: the data chunk was truncated: ${this.#dataRead} of ${this.#dataExpected} bytes`);
    }
    return [];
  }

  free(): void {}

  #expect(state: State, bytes: number): void {
    this.#state = state;
    this.#need = bytes;
    this.#buffer = new Uint8Array(0);
  }

  #parse(bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const text = (offset: number) => String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
    switch (this.#state) {
      case 'riff': {
        const magic = text(0);
        if ((magic !== 'RIFF' && magic !== 'RF64') || text(8) !== 'WAVE') throw new VoxpipeError('decode', 'Not a WAV stream: no RIFF/WAVE header');
        return this.#expect('chunk-header', 8);
      }
      case 'chunk-header': {
        this.#chunkId = text(0);
        const size = view.getUint32(4, true);
        if (this.#chunkId === 'fmt ') {
          if (size < 16 || size > MAX_FMT_BYTES) throw new VoxpipeError('decode', `WAV: a "fmt " chunk of ${size} bytes is not valid`);
          this.#skip = size & 1; // chunks are padded to even sizes
          return this.#expect('fmt', size);
        }
        if (this.#chunkId === 'data') {
          if (!this.#reader) throw new VoxpipeError('decode', 'WAV: the data chunk comes before the "fmt " chunk');
          this.#state = 'data';
          this.#buffer = new Uint8Array(0);
          if (PLACEHOLDER_SIZES.has(size)) this.#dataLeft = Infinity;
          else this.#dataLeft = this.#dataExpected = size;
          return;
        }
        this.#skip = size + (size & 1);
        if (this.#skip === 0) return this.#expect('chunk-header', 8);
        this.#state = 'skip';
        this.#buffer = new Uint8Array(0);
        return;
      }
      case 'fmt': {
        this.#reader = readFmt(view);
        const pad = this.#skip;
        if (pad > 0) {
          this.#state = 'skip';
          this.#buffer = new Uint8Array(0);
        } else this.#expect('chunk-header', 8);
        return;
      }
    }
  }
}

function readFmt(view: DataView): InterleavedReader {
  let tag = view.getUint16(0, true);
  const channels = view.getUint16(2, true);
  const sampleRate = view.getUint32(4, true);
  const blockAlign = view.getUint16(12, true);
  let bits = view.getUint16(14, true);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (view.byteLength < 26) throw new VoxpipeError('decode', 'WAV: WAVE_FORMAT_EXTENSIBLE without its extension');
    tag = view.getUint16(24, true); // first two bytes of the SubFormat GUID
  }
  if (channels < 1) throw new VoxpipeError('decode', 'WAV: zero channels');
  if (channels > 256) throw new VoxpipeError('decode', `WAV: ${channels} channels is not a real stream`);
  if (sampleRate < 1) throw new VoxpipeError('decode', 'WAV: zero sample rate');
  // Odd widths (e.g. 12 or 20 bits) sit in whole-byte containers: read the container.
  if (bits % 8 !== 0) bits = blockAlign > 0 && blockAlign % channels === 0 ? (blockAlign / channels) * 8 : Math.ceil(bits / 8) * 8;
  const encoding = encodingFor(tag, bits);
  if (!encoding) throw new VoxpipeError('decode', `WAV: format ${tag} at ${bits} bits is not supported (PCM 8/16/24/32, float 32/64, µ-law, A-law are)`);
  return new InterleavedReader(encoding, channels, sampleRate);
}

function encodingFor(tag: number, bits: number): InterleavedEncoding | undefined {
  if (tag === WAVE_FORMAT_PCM) return ({ 8: 'u8', 16: 's16le', 24: 's24le', 32: 's32le' } as const)[bits as 8];
  if (tag === WAVE_FORMAT_IEEE_FLOAT) return ({ 32: 'f32le', 64: 'f64le' } as const)[bits as 32];
  if (tag === WAVE_FORMAT_ALAW && bits === 8) return 'alaw';
  if (tag === WAVE_FORMAT_MULAW && bits === 8) return 'mulaw';
  return undefined;
}
