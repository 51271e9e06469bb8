import { mixChannels, VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { OpusDecoder } from 'opus-decoder';
import type { InnerDecoder, Warn } from './inner-decoder.js';
import { countDecoder } from './live-decoders.js';
import { OggPacketReader, type OggPacket } from './ogg-page.js';

/** Rates libopus decodes to directly; a stream made from one of these is decoded back to it. */
const OPUS_RATES = new Set([8000, 12000, 16000, 24000, 48000]);
const MAX_WARNINGS = 20;
/** The largest packet opus-decoder 0.7 takes per channel (its input buffer: 32000 × 0.12 bytes). */
const INPUT_BYTES_PER_CHANNEL = 3840;

/** What an OpusHead packet says (RFC 7845 §5.1). */
interface OpusHead {
  channels: number;
  preSkip: number;
  inputRate: number;
  streamCount: number;
  coupledStreamCount: number;
  mapping: number[];
}

/**
 * The Ogg Opus decoder of the `decode` stage: pages read here (a page's audio
 * is decoded the moment its last byte arrives), packets decoded by libopus in
 * WASM (opus-decoder). Output is at the input rate the OpusHead names when
 * libopus decodes to it directly (8, 12, 16, 24 or 48 kHz: a 24 kHz voice
 * stream comes back at 24 kHz, no resampling), else 48 kHz. Pre-skip and the
 * last page's granule position are honoured, so the samples line up with
 * what was encoded and end where it ended. Chained streams (one after
 * another) are decoded one after another. libopus's errors (corrupt packets)
 * are warnings, not prints (see `quietOpus`).
 */
export class OggOpusStreamDecoder implements InnerDecoder {
  readonly #wantChannels: 1 | 2 | undefined;
  readonly #reader = new OggPacketReader();
  #serial: number | undefined;
  #head: OpusHead | undefined;
  #tagsSeen = false;
  #decoder: OpusDecoder<8000 | 12000 | 16000 | 24000 | 48000> | undefined;
  #sampleRate = 0;
  /** Samples (at the output rate) this logical stream has given, to trim its end by the last granule position. */
  #streamFrames = 0;
  #freed = false;
  #bytesIn = 0;
  #framesOut = 0;
  #warnings = 0;
  #skippedReported = 0;

  constructor(
    private readonly warn: Warn,
    options: { channels?: number } = {},
  ) {
    if (options.channels === 1 || options.channels === 2) this.#wantChannels = options.channels;
  }

  async push(bytes: Uint8Array): Promise<PcmChunk[]> {
    if (this.#freed) throw new VoxpipeError('internal', 'The Opus decoder was freed');
    this.#bytesIn += bytes.byteLength;
    const out: PcmChunk[] = [];
    // Audio packets in a row are decoded in one call, to one chunk (a chunk per 20 ms packet would cost more than decoding it).
    let batch: OggPacket[] = [];
    const decodeBatch = () => {
      const chunk = batch.length ? this.#decodePackets(batch) : undefined;
      if (chunk) out.push(chunk);
      batch = [];
    };
    for (const packet of this.#reader.push(bytes)) {
      if (!this.#isAudio(packet)) {
        decodeBatch();
        await this.#header(packet);
        continue;
      }
      batch.push(packet);
      if (packet.eos) decodeBatch();
    }
    decodeBatch();
    this.#reportSkipped();
    return out;
  }

  async end(): Promise<PcmChunk[]> {
    try {
      if (this.#reader.pending > 0) this.#note(`Opus: ${this.#reader.pending} bytes at the end are not a whole Ogg page`);
      if (this.#bytesIn > 0 && this.#framesOut === 0) {
        const why = this.#head ? 'no audio packet decoded' : this.#reader.pageBytes > 0 ? 'no OpusHead' : 'no Ogg page';
        throw new VoxpipeError('decode', `No Opus audio could be decoded from ${this.#bytesIn} bytes (${why})`);
      }
      return [];
    } finally {
      this.free();
    }
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#drop();
  }

  /** Whether `packet` is audio of the stream being decoded (after its OpusHead and OpusTags). */
  #isAudio(packet: OggPacket): boolean {
    if (packet.bos && isOpusHead(packet.data)) return false;
    if (packet.serial !== this.#serial || !this.#head || !this.#decoder) return false;
    return this.#tagsSeen || !startsWithText(packet.data, 'OpusTags');
  }

  /** An OpusHead (a stream starts), OpusTags, or a packet of no stream being decoded. */
  async #header(packet: OggPacket): Promise<void> {
    if (packet.bos && isOpusHead(packet.data)) {
      this.#drop(); // a stream starts (a chained one after the first): it has its own decoder
      const head = readOpusHead(packet.data);
      if (!head) {
        this.#note('Opus: an OpusHead this decoder cannot use (bad version or channel mapping); its stream is skipped');
        return;
      }
      this.#serial = packet.serial;
      this.#head = head;
      this.#tagsSeen = false;
      this.#streamFrames = 0;
      await this.#start(head);
      return;
    }
    if (packet.serial === this.#serial && this.#head && !this.#tagsSeen) this.#tagsSeen = true; // OpusTags
  }

  #decodePackets(packets: OggPacket[]): PcmChunk | undefined {
    const head = this.#head!;
    this.#tagsSeen = true;
    const limit = INPUT_BYTES_PER_CHANNEL * head.channels;
    const frames: Uint8Array[] = [];
    for (const packet of packets) {
      if (packet.data.byteLength <= limit) frames.push(packet.data);
      else this.#note(`Opus: a packet of ${packet.data.byteLength} bytes (over ${limit}) is skipped`);
    }
    const decoded = this.#decoder!.decodeFrames(frames);
    for (const error of decoded.errors) this.#note(`Opus: ${error.message} (packet of ${error.frameLength} bytes)`);
    let count = decoded.samplesDecoded;
    const last = packets[packets.length - 1];
    if (last.eos && last.granule >= 0n) {
      // The last page's granule position says where the stream ends (RFC 7845 §4.5).
      const end = Math.max(0, Math.round((Number(last.granule) - head.preSkip) * (this.#sampleRate / 48000)));
      count = Math.max(0, Math.min(count, end - this.#streamFrames));
    }
    this.#streamFrames += decoded.samplesDecoded;
    if (count === 0) return undefined;
    let channels = decoded.channelData.map((c) => (c.length === count ? c : c.slice(0, count)));
    if (this.#wantChannels === 1 && channels.length > 1) channels = mixChannels(channels, 1);
    else if (this.#wantChannels === 2 && channels.length === 1) channels = [channels[0], channels[0].slice()];
    this.#framesOut += count;
    return { sampleRate: this.#sampleRate, channels };
  }

  async #start(head: OpusHead): Promise<void> {
    const rate = OPUS_RATES.has(head.inputRate) ? head.inputRate : 48000;
    if (this.#sampleRate === 0) this.#sampleRate = rate;
    else if (rate !== this.#sampleRate) this.#note(`Opus: a chained stream made at ${head.inputRate} Hz is decoded at ${this.#sampleRate} Hz, the rate of the first`);
    const decoder = new OpusDecoder({
      sampleRate: this.#sampleRate as 48000,
      channels: head.channels,
      streamCount: head.streamCount,
      coupledStreamCount: head.coupledStreamCount,
      channelMappingTable: head.mapping,
      preSkip: Math.round((head.preSkip * this.#sampleRate) / 48000),
    });
    countDecoder('opus', 1);
    this.#decoder = decoder;
    try {
      await decoder.ready;
    } catch (error) {
      this.#decoder = undefined;
      countDecoder('opus', -1);
      throw new VoxpipeError('decode', `The Opus decoder failed to start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (this.#decoder !== decoder) return; // freed while starting: #drop did not see it ready
    quietOpus(decoder);
  }

  /** Frees the current stream's decoder (once it is ready: freeing sooner would leave what it is making behind). */
  #drop(): void {
    const decoder = this.#decoder;
    this.#decoder = undefined;
    this.#head = undefined;
    if (!decoder) return;
    void decoder.ready
      .then(() => decoder.free())
      .catch(() => {})
      .finally(() => countDecoder('opus', -1));
  }

  #reportSkipped(): void {
    const skipped = this.#reader.skipped - this.#skippedReported;
    if (skipped === 0) return;
    this.#skippedReported = this.#reader.skipped;
    this.#note(`Opus: skipped ${skipped} bytes that are not whole Ogg pages with a right CRC`);
  }

  #note(message: string): void {
    this.#warnings++;
    if (this.#warnings <= MAX_WARNINGS) this.warn(message);
    else if (this.#warnings === MAX_WARNINGS + 1) this.warn('Opus: further decode warnings suppressed');
  }
}

/** An Ogg Opus decoder for the `decode` stage (its loader's common entry). */
export function createDecoder(warn: Warn, options: { channels?: number } = {}): InnerDecoder {
  return new OggOpusStreamDecoder(warn, options);
}

/** Compiles the WASM ahead of the first stream (`decode()` calls it when Content-Type names Opus). */
export async function prepare(): Promise<void> {
  const decoder = new OpusDecoder({ channels: 1 });
  await decoder.ready;
  decoder.free();
}

function startsWithText(bytes: Uint8Array, text: string): boolean {
  if (bytes.byteLength < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

function isOpusHead(bytes: Uint8Array): boolean {
  return startsWithText(bytes, 'OpusHead');
}

/** Reads an OpusHead; undefined when it is not one this decoder can use. */
function readOpusHead(bytes: Uint8Array): OpusHead | undefined {
  if (bytes.byteLength < 19) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(8);
  if (version >> 4 !== 0) return undefined; // an incompatible major version
  const channels = view.getUint8(9);
  const preSkip = view.getUint16(10, true);
  const inputRate = view.getUint32(12, true);
  const family = view.getUint8(18);
  if (channels === 0) return undefined;
  if (family === 0) {
    if (channels > 2) return undefined;
    return { channels, preSkip, inputRate, streamCount: 1, coupledStreamCount: channels - 1, mapping: channels === 2 ? [0, 1] : [0] };
  }
  if (bytes.byteLength < 21 + channels) return undefined;
  const streamCount = view.getUint8(19);
  const coupledStreamCount = view.getUint8(20);
  if (streamCount === 0 || coupledStreamCount > streamCount) return undefined;
  return { channels, preSkip, inputRate, streamCount, coupledStreamCount, mapping: Array.from(bytes.subarray(21, 21 + channels)) };
}


/** The parts of opus-decoder 0.7.x that `quietOpus` uses. */
interface OpusInsides {
  _decode(frame: Uint8Array): { outputBuffer: Float32Array[]; samplesDecoded: number; error?: string };
  _input: { ptr: number; buf: Uint8Array };
  _output: { ptr: number; buf: Float32Array };
  _outputChannels: number;
  _decoder: number;
  _common: {
    wasm: { opus_frame_decode_float_deinterleaved(decoder: number, input: number, length: number, output: number): number };
    getOutputChannels(output: Float32Array, channels: number, samples: number): Float32Array[];
  };
}

const OPUS_ERRORS: Record<number, string> = {
  [-1]: 'OPUS_BAD_ARG: One or more invalid/out of range arguments',
  [-2]: 'OPUS_BUFFER_TOO_SMALL: Not enough bytes allocated in the buffer',
  [-3]: 'OPUS_INTERNAL_ERROR: An internal error was detected',
  [-4]: 'OPUS_INVALID_PACKET: The compressed data passed is corrupted',
  [-5]: 'OPUS_UNIMPLEMENTED: Invalid/unsupported request number',
  [-6]: 'OPUS_INVALID_STATE: An encoder or decoder structure is invalid or already freed',
  [-7]: 'OPUS_ALLOC_FAIL: Memory allocation has failed',
};

function hasInsides(decoder: Partial<OpusInsides>): decoder is OpusInsides {
  return (
    typeof decoder._decode === 'function' &&
    typeof decoder._input?.ptr === 'number' &&
    typeof decoder._output?.ptr === 'number' &&
    typeof decoder._outputChannels === 'number' &&
    typeof decoder._decoder === 'number' &&
    typeof decoder._common?.wasm?.opus_frame_decode_float_deinterleaved === 'function' &&
    typeof decoder._common.getOutputChannels === 'function'
  );
}

/** Whether this opus-decoder build is decoded without its console output (a test checks the pinned version is). */
export function opusDecodesQuietly(decoder: OpusDecoder<8000 | 12000 | 16000 | 24000 | 48000>): boolean {
  return hasInsides(decoder as unknown as Partial<OpusInsides>) && (decoder as unknown as { _quiet?: boolean })._quiet === true;
}

/**
 * opus-decoder prints every libopus error with `console.error` (no option
 * turns it off) and also returns it in `errors`, which is what we report. So
 * its per-packet decode is replaced by the same WASM call minus the print,
 * instead of swapping the global console. The package is pinned to an exact
 * version; should its insides ever differ, its own decode is kept (and may print).
 */
function quietOpus(decoder: OpusDecoder<8000 | 12000 | 16000 | 24000 | 48000>): void {
  const marked = decoder as unknown as { _quiet?: boolean };
  const insides = decoder as unknown as Partial<OpusInsides>;
  if (!hasInsides(insides)) return;
  insides._decode = (frame: Uint8Array) => {
    insides._input.buf.set(frame);
    let samplesDecoded = insides._common.wasm.opus_frame_decode_float_deinterleaved(insides._decoder, insides._input.ptr, frame.length, insides._output.ptr);
    let error: string | undefined;
    if (samplesDecoded < 0) {
      error = `libopus ${samplesDecoded} ${OPUS_ERRORS[samplesDecoded] ?? 'Unknown Error'}`;
      samplesDecoded = 0;
    }
    return { outputBuffer: insides._common.getOutputChannels(insides._output.buf, insides._outputChannels, samplesDecoded), samplesDecoded, error };
  };
  marked._quiet = true;
}

/** The bare WASM decoder this wraps (for benchmarks that compare against it). */
export { OpusDecoder };
