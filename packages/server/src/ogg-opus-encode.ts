import { oggPage } from '@voxpipe/codecs';
import { VoxpipeError, anyPcm, describeFormat, pcmFrames, transformStage, type PcmChunk, type TransformStage } from '@voxpipe/core';
import OpusScript from 'opusscript';

/** Rates libopus encodes at. */
const OPUS_RATES = new Set([8000, 12000, 16000, 24000, 48000]);
/** Packets of 20 ms, the size libopus is tuned for. */
const FRAME_MS = 20;
/**
 * The encoder's lookahead in 48 kHz samples (RFC 7845's pre-skip): 6.5 ms at
 * every rate for the VOIP and AUDIO applications of libopus 1.4 (Fs/400 +
 * Fs/250). opusscript has no getter for it; the server's decode test shows
 * the samples line up.
 */
export const OPUS_PRE_SKIP = 312;
/** Packets on the first audio page (it leaves as soon as 20 ms are encoded) and on each page after it (100 ms). */
const FIRST_PAGE_PACKETS = 1;
const PAGE_PACKETS = 5;
/** One logical stream per response, always the same serial: a stream's bytes depend only on its audio (Range and ETag rely on it). */
const SERIAL = 0x766f7870; // "voxp"
const OPUS_SET_VBR = 4006;
/** What makes the bytes besides the audio: the libopus build, its settings and this muxer (part of an opus stream's ETag). */
export const OPUS_ENCODER_BUILD = 'opusscript-0.1.1/libopus-1.4/voip/cbr/20ms/pages-1-5';

/**
 * Encodes mono or stereo PCM at 8, 12, 16, 24 or 48 kHz to Ogg Opus with
 * libopus (opusscript, WASM), constant bitrate, 20 ms packets. The OpusHead
 * and OpusTags pages leave with the first audio; the first audio page holds
 * one packet (20 ms), later pages five (100 ms); the last page carries the
 * end-of-stream flag and the granule position that trims the padding. The
 * bytes depend only on the audio, never on how it was chunked, so a stream
 * can be resumed by byte offset like a constant-bitrate MP3. Node only
 * (opusscript uses Node's Buffer).
 *
 * ```ts
 * pipeline(tone({ ms: 1000 }), oggOpusEncode({ bitrate: 32 }), collect({ kind: 'bytes' }));
 * assemble(fromStream(pcm24k, format), oggOpusEncode()); // the server's `format: "opus"`
 * ```
 */
export function oggOpusEncode(options: { bitrate?: number } = {}): TransformStage<PcmChunk, Uint8Array> {
  const bitrate = options.bitrate ?? 32;
  if (!Number.isInteger(bitrate) || bitrate < 6 || bitrate > 256) {
    throw new VoxpipeError('bad-request', `"oggOpusEncode" takes a bitrate of 6 to 256 kbit/s, not ${bitrate}`, { stage: 'oggOpusEncode' });
  }
  return transformStage<PcmChunk, Uint8Array>({
    name: 'oggOpusEncode',
    takes: anyPcm,
    gives: (input) => {
      if ((input.channels !== undefined && input.channels > 2) || (input.sampleRate !== undefined && !OPUS_RATES.has(input.sampleRate))) {
        throw new VoxpipeError('format', `"oggOpusEncode" takes mono or stereo PCM at 8, 12, 16, 24 or 48 kHz but is given ${describeFormat(input)}`, { stage: 'oggOpusEncode' });
      }
      return { kind: 'bytes', container: 'opus', sampleRate: input.sampleRate, channels: input.channels };
    },
    spec: { stage: 'oggOpusEncode', options: { bitrate } },
    transformer: (ctx) => {
      let encoder: OpusScript | undefined;
      let shape: { sampleRate: number; channels: number; frameSize: number } | undefined;
      /** Interleaved s16 of the frame being filled. */
      let frame: Int16Array = new Int16Array(0);
      let filled = 0;
      let inputFrames = 0;
      let encodedFrames = 0;
      let packets: Uint8Array[] = [];
      let sequence = 0;
      ctx.defer(() => {
        encoder?.delete();
        encoder = undefined;
      });
      const fail = (message: string) => new VoxpipeError('format', message, { stage: ctx.stage });
      /** Frames at the input rate as 48 kHz samples. */
      const at48k = (frames: number) => Math.round((frames * 48000) / shape!.sampleRate);

      const encodeFrame = () => {
        // opusscript takes the frame as s16le bytes (a Buffer), not as an Int16Array
        packets.push(new Uint8Array(encoder!.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), shape!.frameSize)));
        encodedFrames += shape!.frameSize;
        filled = 0;
        frame.fill(0);
      };
      const page = (last: boolean): Uint8Array => {
        const bytes = oggPage({ serial: SERIAL, sequence: sequence++, // a page's granule counts every sample its packets decode to; the last one's says where the input ended
          granule: BigInt(last ? OPUS_PRE_SKIP + at48k(inputFrames) : at48k(encodedFrames)), packets, eos: last });
        packets = [];
        return bytes;
      };
      const pageFull = () => packets.length >= (sequence === 2 ? FIRST_PAGE_PACKETS : PAGE_PACKETS);

      return {
        transform(chunk, controller) {
          const frames = pcmFrames(chunk);
          if (frames === 0) return;
          const channels = chunk.channels.length;
          if (!shape) {
            if (channels !== 1 && channels !== 2) throw fail(`oggOpusEncode takes mono or stereo PCM, not ${channels} channels`);
            if (!OPUS_RATES.has(chunk.sampleRate)) throw fail(`oggOpusEncode takes PCM at 8, 12, 16, 24 or 48 kHz, not ${chunk.sampleRate} Hz`);
            shape = { sampleRate: chunk.sampleRate, channels, frameSize: (chunk.sampleRate * FRAME_MS) / 1000 };
            try {
              encoder = new OpusScript(chunk.sampleRate as 24000, channels, OpusScript.Application.VOIP);
              encoder.setBitrate(bitrate * 1000);
              encoder.encoderCTL(OPUS_SET_VBR, 0);
            } catch (error) {
              throw new VoxpipeError('internal', `The Opus encoder failed to start: ${(error as Error).message}`, { stage: ctx.stage, cause: error });
            }
            frame = new Int16Array(shape.frameSize * channels);
            controller.enqueue(oggPage({ serial: SERIAL, sequence: sequence++, granule: 0n, packets: [opusHead(shape.sampleRate, channels)], bos: true }));
            controller.enqueue(oggPage({ serial: SERIAL, sequence: sequence++, granule: 0n, packets: [OPUS_TAGS] }));
          } else if (chunk.sampleRate !== shape.sampleRate || channels !== shape.channels) {
            throw fail(`oggOpusEncode: the audio changed from ${shape.sampleRate} Hz × ${shape.channels} to ${chunk.sampleRate} Hz × ${channels} mid-stream`);
          }
          for (let i = 0; i < frames; i++) {
            for (let c = 0; c < channels; c++) frame[filled * channels + c] = toS16(chunk.channels[c][i]);
            filled++;
            if (filled === shape.frameSize) {
              encodeFrame();
              if (pageFull()) controller.enqueue(page(false));
            }
          }
          inputFrames += frames;
        },
        flush(controller) {
          if (!shape || !encoder) return;
          // Enough packets for the decoder to give every input sample after the pre-skip, and at least one on the last page.
          const needed = inputFrames + Math.round((OPUS_PRE_SKIP * shape.sampleRate) / 48000);
          while (encodedFrames < needed || packets.length === 0) {
            encodeFrame();
            if (encodedFrames < needed && pageFull()) controller.enqueue(page(false));
          }
          controller.enqueue(page(true));
        },
      };
    },
  });
}

/** Bytes of a page holding `packets` packets of `packetBytes` each (under 255 bytes: one lacing value per packet). */
const pageBytes = (packets: number, packetBytes: number) => 27 + packets + packets * packetBytes;

/**
 * Where in an `oggOpusEncode` stream (at `bitrate` kbit/s) the page starts
 * whose packet a decoder gives the output sample `sample` from (counted at
 * the stream's rate, after the pre-skip): the layout is fixed, so it is
 * known before the stream is made. The server's word timings use it.
 *
 * ```ts
 * opusPageByteAt(0, 24000, 32); // 98: the first audio page, after OpusHead and OpusTags
 * ```
 */
export function opusPageByteAt(sample: number, sampleRate: number, bitrate: number): number {
  const frameSize = (sampleRate * FRAME_MS) / 1000;
  const packetBytes = (bitrate * 1000 * FRAME_MS) / 1000 / 8;
  const packet = Math.floor((sample + Math.round((OPUS_PRE_SKIP * sampleRate) / 48000)) / frameSize);
  const headers = pageBytes(1, OPUS_HEAD_BYTES) + pageBytes(1, OPUS_TAGS.byteLength);
  if (packet < FIRST_PAGE_PACKETS) return headers;
  return headers + pageBytes(FIRST_PAGE_PACKETS, packetBytes) + Math.floor((packet - FIRST_PAGE_PACKETS) / PAGE_PACKETS) * pageBytes(PAGE_PACKETS, packetBytes);
}

function toS16(x: number): number {
  const v = Math.round(x * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
}

const OPUS_HEAD_BYTES = 19;

/** The identification header (RFC 7845 §5.1), channel mapping family 0. */
function opusHead(sampleRate: number, channels: number): Uint8Array {
  const head = new Uint8Array(OPUS_HEAD_BYTES);
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode('OpusHead'));
  view.setUint8(8, 1); // version
  view.setUint8(9, channels);
  view.setUint16(10, OPUS_PRE_SKIP, true);
  view.setUint32(12, sampleRate, true); // the input rate: decoders that can, decode back to it
  view.setInt16(16, 0, true); // output gain
  view.setUint8(18, 0); // mapping family
  return head;
}

/** The comment header (RFC 7845 §5.2): vendor "voxpipe", no comments. */
const OPUS_TAGS = (() => {
  const vendor = new TextEncoder().encode('voxpipe');
  const tags = new Uint8Array(8 + 4 + vendor.byteLength + 4);
  const view = new DataView(tags.buffer);
  tags.set(new TextEncoder().encode('OpusTags'));
  view.setUint32(8, vendor.byteLength, true);
  tags.set(vendor, 12);
  view.setUint32(12 + vendor.byteLength, 0, true);
  return tags;
})();
