import { mixChannels, VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { concatBytes, type InnerDecoder, type Warn } from './inner-decoder.js';
import { countDecoder, type WasmCodec } from './live-decoders.js';
import { OggPageGate, startsOggPage } from './ogg-page.js';

/** What one call of a wasm-audio-decoders decoder gives. */
export interface WasmDecoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: ReadonlyArray<{ message: string; inputBytes?: number }>;
}

/** The part of a wasm-audio-decoders streaming decoder (ogg-opus-decoder, @wasm-audio-decoders/flac and ogg-vorbis) that is used here. */
export interface WasmStreamLibrary {
  readonly ready: Promise<void>;
  decode(bytes: Uint8Array): Promise<WasmDecoded>;
  flush(): Promise<WasmDecoded>;
  free(): void;
}

/** Makes the library's decoder once the first bytes say enough (`ended`: they are all there will be); undefined to wait for more. */
export type OpenLibrary = (head: Uint8Array, ended: boolean) => WasmStreamLibrary | undefined;

const MAX_WARNINGS = 20;

/**
 * A wasm-audio-decoders streaming decoder inside the `decode` stage. Those
 * decoders parse the container themselves (codec-parser), carry partial pages
 * and frames across calls, answer with promises and return each call's
 * decode errors in an array, which become `warning` events here. Calls are
 * made one at a time; `free` during a call frees the WASM when the call
 * settles. Output is mono when `channels: 1` was asked for (the mean of the
 * channels), two equal channels for mono asked as stereo, else as the stream
 * has it, at the rate of the stream's first audio.
 */
export class WasmStreamDecoder implements InnerDecoder {
  readonly #wantChannels: 1 | 2 | undefined;
  #library: WasmStreamLibrary | undefined;
  #head: Uint8Array = new Uint8Array(0);
  /** For Ogg: bytes held until the library can make a page of them (see OggPageGate). */
  #gate: OggPageGate | undefined;
  #held: Uint8Array = new Uint8Array(0);
  #busy: Promise<unknown> = Promise.resolve();
  #freed = false;
  #sampleRate = 0;
  #otherRates = new Set<number>();
  #bytesIn = 0;
  #framesOut = 0;
  #warnings = 0;

  constructor(
    private readonly codec: WasmCodec,
    /** How the codec is named in messages: `Opus`, `FLAC`, `Vorbis`. */
    private readonly label: string,
    private readonly open: OpenLibrary,
    private readonly warn: Warn,
    options: { channels?: number } = {},
  ) {
    if (options.channels === 1 || options.channels === 2) this.#wantChannels = options.channels;
  }

  async push(bytes: Uint8Array): Promise<PcmChunk[]> {
    if (this.#freed) throw new VoxpipeError('internal', `The ${this.label} decoder was freed`);
    this.#bytesIn += bytes.byteLength;
    let feed = bytes;
    if (!this.#library) {
      this.#head = concatBytes(this.#head, bytes.slice());
      if (!this.#start(false)) return [];
      feed = this.#head;
      this.#head = new Uint8Array(0);
    }
    if (this.#gate) {
      this.#held = concatBytes(this.#held, feed === bytes ? bytes.slice() : feed);
      if (!this.#gate.push(feed)) return [];
      feed = this.#held;
      this.#held = new Uint8Array(0);
    }
    return this.#call((library) => library.decode(feed));
  }

  async end(): Promise<PcmChunk[]> {
    const out: PcmChunk[] = [];
    try {
      if (!this.#library && this.#head.byteLength > 0 && this.#start(true)) out.push(...(await this.#call((library) => library.decode(this.#head))));
      const held = this.#held;
      this.#held = new Uint8Array(0);
      if (this.#library && held.byteLength > 0) out.push(...(await this.#call((library) => library.decode(held))));
      if (this.#library) out.push(...(await this.#call((library) => library.flush())));
    } finally {
      this.free();
    }
    if (this.#bytesIn > 0 && this.#framesOut === 0) throw new VoxpipeError('decode', `No ${this.label} audio could be decoded from ${this.#bytesIn} bytes`);
    return out;
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    const library = this.#library;
    if (!library) return;
    // After the call in flight (if any), once the WASM is there: freeing it sooner would leave what it is making behind.
    void this.#busy
      .then(() => library.ready)
      .then(() => library.free())
      .catch(() => {})
      .finally(() => countDecoder(this.codec, -1));
  }

  #start(ended: boolean): boolean {
    if (this.#head.byteLength < 4 && !ended) return false; // enough to tell Ogg from not
    const library = this.open(this.#head, ended);
    if (!library) return false;
    this.#library = library;
    if (startsOggPage(this.#head)) this.#gate = new OggPageGate();
    countDecoder(this.codec, 1);
    library.ready.catch(() => {}); // reported by the first call
    return true;
  }

  async #call(run: (library: WasmStreamLibrary) => Promise<WasmDecoded>): Promise<PcmChunk[]> {
    const library = this.#library!;
    const call = (async () => {
      try {
        await library.ready;
      } catch (error) {
        throw new VoxpipeError('decode', `The ${this.label} decoder failed to start: ${describe(error)}`, { cause: error });
      }
      try {
        return await run(library);
      } catch (error) {
        throw new VoxpipeError('decode', `${this.label} decoding failed: ${describe(error)}`, { cause: error });
      }
    })();
    this.#busy = call.catch(() => {});
    const decoded = await call;
    for (const error of decoded.errors) this.#note(`${this.label}: ${error.message}${error.inputBytes === undefined ? '' : ` (after ${error.inputBytes} bytes)`}`);
    return this.#chunk(decoded);
  }

  #chunk(decoded: WasmDecoded): PcmChunk[] {
    const frames = decoded.samplesDecoded;
    if (frames === 0 || decoded.channelData.length === 0) return [];
    if (this.#sampleRate === 0) this.#sampleRate = decoded.sampleRate;
    else if (decoded.sampleRate !== this.#sampleRate && !this.#otherRates.has(decoded.sampleRate)) {
      this.#otherRates.add(decoded.sampleRate);
      this.#note(`${this.label}: audio at ${decoded.sampleRate} Hz in a ${this.#sampleRate} Hz stream (a chained stream?) is given as ${this.#sampleRate} Hz`);
    }
    let channels = decoded.channelData.map((c) => (c.length === frames ? c : c.subarray(0, frames)));
    if (this.#wantChannels === 1 && channels.length > 1) channels = mixChannels(channels, 1);
    else if (this.#wantChannels === 2 && channels.length === 1) channels = [channels[0], channels[0].slice()];
    this.#framesOut += frames;
    return [{ sampleRate: this.#sampleRate, channels }];
  }

  #note(message: string): void {
    this.#warnings++;
    if (this.#warnings <= MAX_WARNINGS) this.warn(message);
    else if (this.#warnings === MAX_WARNINGS + 1) this.warn(`${this.label}: further decode warnings suppressed`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

