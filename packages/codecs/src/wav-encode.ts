import { VoxpipeError, anyPcm, parseOptions, pcmFrames, transformStage, type PcmChunk, type TransformStage } from '@voxpipe/core';
import * as v from 'valibot';
import { floatToInt16 } from './interleaved.js';

const schema = v.strictObject({
  /** Sample format of the file: 16-bit integer (default) or 32-bit float. */
  encoding: v.optional(v.picklist(['s16le', 'f32le']), 's16le'),
  /**
   * How the header states the sizes: `streaming` (the only mode) writes
   * 0xFFFFFFFF placeholders, since the length is unknown when the header
   * leaves; a file sink can fix them at the end with `patchWavSizes`.
   */
  dataSize: v.optional(v.picklist(['streaming']), 'streaming'),
});

export type WavEncodeOptions = v.InferInput<typeof schema>;

/** What a WAV header describes. */
export interface WavHeaderOptions {
  sampleRate: number;
  channels: number;
  encoding?: 's16le' | 'f32le';
  /** Bytes of audio that follow; leave out for a streaming header (0xFFFFFFFF placeholders). */
  dataBytes?: number;
}

/** Length of the header `wavHeader` writes. */
export const WAV_HEADER_BYTES = 44;
const PLACEHOLDER = 0xffffffff;

/**
 * A 44-byte canonical WAV header (RIFF, `fmt `, `data`). Without `dataBytes`
 * both sizes are 0xFFFFFFFF, which players and voxpipe's `decode` read as
 * "until the end of the stream".
 *
 * ```ts
 * const header = wavHeader({ sampleRate: 24000, channels: 1 });
 * await file.write(header); // … audio …; then patchWavSizes(header, written) and rewrite it at offset 0
 * ```
 */
export function wavHeader(options: WavHeaderOptions): Uint8Array {
  const { sampleRate, channels } = options;
  const float = options.encoding === 'f32le';
  const bytesPerSample = float ? 4 : 2;
  const header = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(header.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < 4; i++) header[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, PLACEHOLDER, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, float ? 3 : 1, true); // WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * bytesPerSample, true);
  view.setUint16(32, channels * bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  ascii(36, 'data');
  view.setUint32(40, PLACEHOLDER, true);
  if (options.dataBytes !== undefined) patchWavSizes(header, options.dataBytes);
  return header;
}

/**
 * Writes the real sizes into a WAV header (in place, and returns it), once
 * the amount of audio is known — for a file sink that seeks back to offset 0
 * at the end. Sizes beyond 4 GiB stay 0xFFFFFFFF.
 *
 * ```ts
 * patchWavSizes(header, bytesWritten - header.byteLength);
 * await handle.write(header, 0, header.byteLength, 0);
 * ```
 */
export function patchWavSizes(header: Uint8Array, dataBytes: number): Uint8Array {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  let offset = 12;
  while (offset + 8 <= header.byteLength) {
    const id = String.fromCharCode(header[offset], header[offset + 1], header[offset + 2], header[offset + 3]);
    if (id === 'data') {
      const dataStart = offset + 8;
      const riff = dataStart - 8 + dataBytes + (dataBytes & 1);
      view.setUint32(4, riff > PLACEHOLDER ? PLACEHOLDER : riff, true);
      view.setUint32(offset + 4, dataBytes > PLACEHOLDER ? PLACEHOLDER : dataBytes, true);
      return header;
    }
    const size = view.getUint32(offset + 4, true);
    offset += 8 + size + (size & 1);
  }
  throw new VoxpipeError('format', 'patchWavSizes: the header has no data chunk');
}

/** Planar float PCM → interleaved little-endian bytes. */
export function interleave(chunk: PcmChunk, encoding: 's16le' | 'f32le'): Uint8Array {
  const frames = pcmFrames(chunk);
  const count = chunk.channels.length;
  if (encoding === 'f32le') {
    const out = new Float32Array(frames * count);
    for (let c = 0; c < count; c++) {
      const samples = chunk.channels[c];
      for (let i = 0, j = c; i < frames; i++, j += count) out[j] = samples[i];
    }
    return littleEndian(new Uint8Array(out.buffer), 4);
  }
  const out = new Int16Array(frames * count);
  for (let c = 0; c < count; c++) {
    const samples = chunk.channels[c];
    for (let i = 0, j = c; i < frames; i++, j += count) out[j] = floatToInt16(samples[i]);
  }
  return littleEndian(new Uint8Array(out.buffer), 2);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function littleEndian(bytes: Uint8Array, width: number): Uint8Array {
  if (LITTLE_ENDIAN) return bytes;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return bytes;
}

/**
 * Encodes PCM as a streaming WAV: a header with placeholder sizes first, then
 * interleaved 16-bit (or float) samples as they come. Use it to save or serve
 * audio in a form every player reads; a file sink can patch the sizes at the
 * end (`patchWavSizes`). Word marks are dropped: bytes carry none.
 *
 * ```ts
 * pipeline(tone({ ms: 500 }), wavEncode(), collect({ kind: 'bytes' }));
 * pipeline(source, decode(), wavEncode({ encoding: 'f32le' }), fileSink('out.wav'));
 * ```
 */
export function wavEncode(options: WavEncodeOptions = {}): TransformStage<PcmChunk, Uint8Array> {
  const parsed = parseOptions('wavEncode', schema, options);
  const { encoding } = parsed;
  return transformStage<PcmChunk, Uint8Array>({
    name: 'wavEncode',
    takes: anyPcm,
    gives: (input) => ({ kind: 'bytes', container: 'wav', encoding, sampleRate: input.sampleRate, channels: input.channels }),
    spec: { stage: 'wavEncode', options: { ...parsed } },
    transformer: (ctx, input) => {
      let shape: { sampleRate: number; channels: number } | undefined;
      return {
        transform(chunk, controller) {
          if (pcmFrames(chunk) === 0) return; // an empty chunk says nothing: the same file as without it
          if (!shape) {
            shape = { sampleRate: chunk.sampleRate, channels: chunk.channels.length };
            if (shape.channels < 1) throw new VoxpipeError('format', 'wavEncode: a chunk has no channels', { stage: ctx.stage });
            controller.enqueue(wavHeader({ ...shape, encoding }));
          } else if (chunk.sampleRate !== shape.sampleRate || chunk.channels.length !== shape.channels) {
            throw new VoxpipeError(
              'format',
              `wavEncode: the audio changed from ${shape.sampleRate} Hz × ${shape.channels} to ${chunk.sampleRate} Hz × ${chunk.channels.length} mid-stream`,
              { stage: ctx.stage },
            );
          }
          controller.enqueue(interleave(chunk, encoding));
        },
        flush(controller) {
          // No audio at all: still a valid (empty) file, with its true sizes.
          if (!shape) controller.enqueue(wavHeader({ sampleRate: input.sampleRate ?? 24000, channels: input.channels ?? 1, encoding, dataBytes: 0 }));
        },
      };
    },
  });
}
