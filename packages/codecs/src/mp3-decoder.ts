import { VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { MPEGDecoder } from 'mpg123-decoder';
import { concatBytes, type InnerDecoder, type Warn } from './inner-decoder.js';
import { countDecoder } from './live-decoders.js';
import { id3v2Length, readMpegHeader, sameStream } from './mpeg-header.js';

export { liveMp3Decoders } from './live-decoders.js';

/**
 * Ready, never-used decoders. Instantiating mpg123's WASM takes from under a
 * millisecond to tens of milliseconds; a spare started while the request is
 * still in flight takes that off the time to first audio.
 */
const spares: MPEGDecoder[] = [];
let sparesWanted = 0;
let sparesStarting = 0;

function refillSpares(): Promise<void> {
  const starting: Promise<void>[] = [];
  while (spares.length + sparesStarting < sparesWanted) {
    sparesStarting++;
    const decoder = new MPEGDecoder();
    starting.push(
      decoder.ready.then(
        () => {
          sparesStarting--;
          spares.push(decoder);
        },
        () => {
          sparesStarting--;
        },
      ),
    );
  }
  return Promise.all(starting).then(() => {});
}

/**
 * Keeps `count` MP3 decoders started and ready, so a stream's first frame
 * decodes without waiting for WASM (`decode()` asks for one when a run
 * starts; call this at start-up to have them sooner).
 *
 * ```ts
 * await warmMp3Decoders(2);
 * ```
 */
export function warmMp3Decoders(count = 1): Promise<void> {
  sparesWanted = Math.max(sparesWanted, count);
  return refillSpares();
}

/** Past this much input without two agreeing frame headers, the channel count falls back to what the first header said (or stereo). */
const SCAN_LIMIT = 1 << 20;
const MAX_WARNINGS = 20;

/** The stream's shape, as its frame headers say. */
interface StreamShape {
  channels: 1 | 2;
  sampleRate: number;
}

/**
 * Finds the stream's channel count and sample rate from its first frame
 * header that the next frame header confirms, skipping ID3v2 tags, without
 * buffering more than a frame or two. mpg123 always gives two channels (this
 * says whether they are one channel twice), and labels each decode call with
 * the rate of its last frame (so in corrupt data the label would depend on
 * how the input was cut; this does not).
 */
class StreamFinder {
  /** Trust a header found at the very start (after any ID3 tag) without waiting for the next: the source declared MP3. */
  constructor(private readonly trustFirst = false) {}
  #skip = 0;
  #window: Uint8Array = new Uint8Array(0);
  #scanned = 0;
  #firstGuess: StreamShape | undefined;
  result: StreamShape | undefined;

  push(bytes: Uint8Array): void {
    if (this.result !== undefined) return;
    let input = bytes;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, input.byteLength);
      this.#skip -= n;
      input = input.subarray(n);
    }
    this.#window = concatBytes(this.#window, input.slice());
    let offset = 0;
    const w = this.#window;
    while (offset < w.byteLength) {
      const id3 = id3v2Length(w, offset);
      if (id3 < 0) break; // need more to size the tag
      if (id3 > 0) {
        const inWindow = Math.min(id3, w.byteLength - offset);
        offset += inWindow;
        this.#skip = id3 - inWindow;
        if (this.#skip > 0) break;
        continue;
      }
      const header = readMpegHeader(w, offset);
      if (!header) {
        if (w.byteLength - offset < 4) break; // maybe a header cut short
        offset++;
        this.#scanned++;
        if (this.#scanned > SCAN_LIMIT) return this.#decide(this.#firstGuess);
        continue;
      }
      const shape = { channels: header.channels, sampleRate: header.sampleRate };
      this.#firstGuess ??= shape;
      if (header.frameLength === 0) return this.#decide(shape); // free format: trust it
      if (this.trustFirst && this.#scanned === 0) return this.#decide(shape); // the first bytes of a declared MP3 stream
      const next = offset + header.frameLength;
      if (next + 4 > w.byteLength) break; // wait for the next header
      const following = readMpegHeader(w, next);
      if (following && sameStream(header, following)) return this.#decide(shape);
      offset++;
      this.#scanned++;
    }
    this.#window = w.slice(offset);
  }

  /** The input ended: the best guess (undefined when no header was seen at all). */
  finish(): StreamShape | undefined {
    return (this.result ??= this.#firstGuess);
  }

  #decide(shape: StreamShape | undefined): void {
    this.result = shape ?? { channels: 2, sampleRate: 0 };
    this.#window = new Uint8Array(0);
  }
}

/**
 * The MP3 decoder of the `decode` stage: mpg123 (WASM) in feed mode, which
 * carries partial frames across pushes itself. Output is mono when the stream
 * is (or `channels: 1` was asked for), stereo otherwise, at the rate the
 * stream's frame headers state. PCM waits until those headers are confirmed
 * (the first frame and the next header's 4 bytes), so the output is
 * identical however the input is cut. mpg123's errors are reported through
 * `warn`, not printed (but see `decodeQuietly` for one line mpg123's C code
 * prints on corrupt input).
 */
export class Mp3Decoder implements InnerDecoder {
  /** Settles when the WASM decoder is ready; `push` must wait for it. */
  readonly ready: Promise<void>;
  readonly #wantChannels: 1 | 2 | undefined;
  #decoder: MPEGDecoder | undefined;
  #freed = false;
  readonly #finder: StreamFinder;
  #shape: StreamShape | undefined;
  #held: PcmChunk[] = [];
  #otherRates = new Set<number>();
  #bytesIn = 0;
  #framesOut = 0;
  #warnings = 0;

  constructor(
    private readonly warn: Warn,
    options: { channels?: number; declared?: boolean } = {},
  ) {
    if (options.channels === 1 || options.channels === 2) this.#wantChannels = options.channels;
    this.#finder = new StreamFinder(options.declared === true);
    const spare = spares.pop();
    if (spare) {
      countDecoder('mp3', 1);
      this.#decoder = spare;
      this.ready = Promise.resolve();
      void refillSpares();
      return;
    }
    const decoder = new MPEGDecoder();
    countDecoder('mp3', 1);
    this.ready = decoder.ready.then(
      () => {
        if (this.#freed) {
          countDecoder('mp3', -1);
          decoder.free();
        } else this.#decoder = decoder;
      },
      (error: unknown) => {
        countDecoder('mp3', -1);
        this.#freed = true;
        throw new VoxpipeError('decode', `The MP3 decoder failed to start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      },
    );
    this.ready.catch(() => {});
  }

  push(bytes: Uint8Array): PcmChunk[] {
    const decoder = this.#decoder;
    if (!decoder) throw new VoxpipeError('internal', this.#freed ? 'The MP3 decoder was freed' : 'The MP3 decoder is not ready');
    this.#bytesIn += bytes.byteLength;
    if (!this.#shape) {
      this.#finder.push(bytes);
      if (this.#finder.result) this.#settle(this.#finder.result);
    }
    const decoded = this.#decode(decoder, bytes);
    if (decoded) this.#held.push(decoded);
    return this.#shape ? this.#release() : [];
  }

  end(): PcmChunk[] {
    if (!this.#shape) this.#settle(this.#finder.finish() ?? { channels: 2, sampleRate: 0 });
    const out = this.#release();
    this.free();
    if (this.#bytesIn > 0 && this.#framesOut === 0) {
      throw new VoxpipeError('decode', `No MPEG audio could be decoded from ${this.#bytesIn} bytes`);
    }
    return out;
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    const decoder = this.#decoder;
    this.#decoder = undefined;
    if (decoder) {
      countDecoder('mp3', -1);
      decoder.free();
    }
    // not ready yet: `ready` frees it when it settles
  }

  #settle(found: StreamShape): void {
    // no header rate (nothing found): the first decoded rate
    this.#shape = { channels: this.#wantChannels ?? found.channels, sampleRate: found.sampleRate || (this.#held[0]?.sampleRate ?? 0) };
  }

  #decode(decoder: MPEGDecoder, bytes: Uint8Array): PcmChunk | undefined {
    let result: Decoded;
    try {
      result = decodeQuietly(decoder, bytes);
    } catch (error) {
      throw new VoxpipeError('decode', `MP3 decoding failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    for (const error of result.errors) this.#note(`MP3: ${error.message} (after ${error.inputBytes} bytes)`);
    if (result.samplesDecoded === 0) return undefined;
    return { sampleRate: result.sampleRate, channels: result.channelData.slice(0, 2) };
  }

  #release(): PcmChunk[] {
    const shape = this.#shape!;
    const out: PcmChunk[] = [];
    for (const chunk of this.#held) {
      if (shape.sampleRate === 0) shape.sampleRate = chunk.sampleRate;
      if (chunk.sampleRate !== shape.sampleRate && !this.#otherRates.has(chunk.sampleRate)) {
        // In a voice stream this is a false frame header inside corrupt data: the output keeps one format.
        this.#otherRates.add(chunk.sampleRate);
        this.#note(`MP3: frames at ${chunk.sampleRate} Hz in a ${shape.sampleRate} Hz stream (corrupt data?) are given as ${shape.sampleRate} Hz`);
      }
      const channels = shape.channels === 1 ? [mean(chunk.channels)] : chunk.channels;
      out.push({ sampleRate: shape.sampleRate, channels });
      this.#framesOut += channels[0].length;
    }
    this.#held = [];
    return out;
  }

  #note(message: string): void {
    this.#warnings++;
    if (this.#warnings <= MAX_WARNINGS) this.warn(message);
    else if (this.#warnings === MAX_WARNINGS + 1) this.warn('MP3: further decode warnings suppressed');
  }
}

/** What one decode call gave. */
interface Decoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: Array<{ message: string; inputBytes: number }>;
}

const MPG123_NEED_MORE = -10;
const MPG123_NEW_FORMAT = -11;

/** The parts of an mpg123-decoder 1.0.x `MPEGDecoder` that its own `decode` uses. */
interface Mpg123Insides {
  _common: {
    wasm: {
      mpeg_decoder_feed(decoder: number, input: number, length: number): number;
      mpeg_decoder_read(decoder: number, output: number, outputLength: number, samples: number, sampleRate: number, errorString: number): number;
    };
  };
  _decoder: number;
  _input: { ptr: number; len: number; buf: Uint8Array };
  _output: { ptr: number; len: number; buf: Float32Array };
  _samplesDecodedPtr: { ptr: number; buf: Uint32Array };
  _sampleRatePtr: { ptr: number; buf: Uint32Array };
  _errorStringPtr: { ptr: number; buf: Uint32Array };
  _inputBytes: number;
  _outputSamples: number;
  _getErrorMessage(code: number): string;
}

function hasInsides(decoder: MPEGDecoder): boolean {
  const d = decoder as unknown as Partial<Mpg123Insides>;
  const wasm = d._common?.wasm;
  const view = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as { ptr?: unknown }).ptr === 'number' && ArrayBuffer.isView((x as { buf?: unknown }).buf);
  return (
    typeof wasm?.mpeg_decoder_feed === 'function' &&
    typeof wasm.mpeg_decoder_read === 'function' &&
    typeof d._decoder === 'number' &&
    view(d._input) &&
    view(d._output) &&
    view(d._samplesDecodedPtr) &&
    view(d._sampleRatePtr) &&
    view(d._errorStringPtr) &&
    typeof d._inputBytes === 'number' &&
    typeof d._outputSamples === 'number' &&
    typeof d._getErrorMessage === 'function'
  );
}

/** Whether this mpg123-decoder build is decoded without its console output (a test checks the pinned version is). */
export function mp3DecodesQuietly(decoder: MPEGDecoder): boolean {
  return hasInsides(decoder);
}

/**
 * `decoder.decode(bytes)` without its `console.error` for each mpg123 error.
 * mpg123-decoder prints every error unconditionally (no option turns it off;
 * its WASM build is already MPG123_QUIET, the print is in its JavaScript
 * loop) and also returns it in `errors`, which is what we report. So this
 * runs the same feed/read loop over the same WASM calls and buffers, minus
 * the print, instead of swapping the global console. The package is pinned
 * to an exact version; should its insides ever differ, its own `decode` is
 * used (and may print).
 *
 * One message is still printed, by mpg123's C code itself: "Truncating
 * stereo boundary to sideband limit." (an unconditional fprintf to stderr for
 * a joint-stereo MPEG layer II frame, which in a layer III voice stream only
 * a false frame header in corrupt data can be). The Emscripten runtime turns
 * it into `console.error` from inside its own closure, with no hook; silencing
 * it would take swapping the global console or a hand-written runtime for the
 * WASM build, and a rare line on stderr for corrupt input is the lesser cost.
 */
export function decodeQuietly(decoder: MPEGDecoder, data: Uint8Array): Decoded {
  if (!hasInsides(decoder)) return decoder.decode(data);
  const d = decoder as unknown as Mpg123Insides;
  const wasm = d._common.wasm;
  const parts: Array<[Float32Array, Float32Array]> = [];
  const errors: Decoded['errors'] = [];
  let samples = 0;
  feed: for (let offset = 0, length = 0; offset < data.length; offset += length) {
    const piece = data.subarray(offset, offset + d._input.len);
    length = piece.length;
    d._inputBytes += length;
    d._input.buf.set(piece);
    let code = wasm.mpeg_decoder_feed(d._decoder, d._input.ptr, length);
    if (code === MPG123_NEED_MORE) continue feed;
    for (;;) {
      d._samplesDecodedPtr.buf[0] = 0;
      code = wasm.mpeg_decoder_read(d._decoder, d._output.ptr, d._output.len, d._samplesDecodedPtr.ptr, d._sampleRatePtr.ptr, d._errorStringPtr.ptr);
      const decoded = d._samplesDecodedPtr.buf[0];
      d._outputSamples += decoded;
      if (decoded) {
        samples += decoded;
        parts.push([d._output.buf.slice(0, decoded), d._output.buf.slice(decoded, decoded * 2)]);
      }
      if (code === MPG123_NEW_FORMAT) continue;
      if (code === MPG123_NEED_MORE) continue feed;
      if (code) errors.push({ message: d._getErrorMessage(code), inputBytes: d._inputBytes });
    }
  }
  const channelData = [new Float32Array(samples), new Float32Array(samples)];
  let at = 0;
  for (const [left, right] of parts) {
    channelData[0].set(left, at);
    channelData[1].set(right, at);
    at += left.length;
  }
  return { channelData, samplesDecoded: samples, sampleRate: d._sampleRatePtr.buf[0], errors };
}

/** Two channels → one, as their mean (exact when they are one channel twice, as mpg123 gives mono). */
function mean(channels: Float32Array[]): Float32Array {
  const [left, right] = channels;
  if (!right) return left;
  const mono = new Float32Array(left.length);
  for (let i = 0; i < left.length; i++) mono[i] = (left[i] + right[i]) * 0.5;
  return mono;
}

/** The bare WASM decoder this wraps (for benchmarks that compare against it). */
export { MPEGDecoder };

/** An MP3 decoder for the `decode` stage (its loader's common entry); `declared`: the source said MP3, so the first frame is trusted. */
export function createDecoder(warn: Warn, options: { channels?: number; declared?: boolean } = {}): Mp3Decoder {
  return new Mp3Decoder(warn, options);
}

/** Has a decoder started and ready before the first frame (`decode()` calls it when it may meet MP3). */
export function prepare(): Promise<void> {
  return warmMp3Decoders(1);
}
