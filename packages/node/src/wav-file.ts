import { open, type FileHandle } from 'node:fs/promises';
import { anyPcm, parseOptions, pcmFrames, type PcmChunk, type SinkStage } from '@voxpipe/core';
import { patchWavSizes, wavHeader, WAV_HEADER_BYTES } from '@voxpipe/codecs';
import * as v from 'valibot';
import { fileError, writeFully } from './io.js';
import { interleave, layoutGuard, SAMPLE_BYTES } from './pcm-bytes.js';

const schema = v.strictObject({
  /** Where to write; an existing file is replaced. */
  path: v.pipe(v.string(), v.minLength(1)),
  /** Sample format: 16-bit integers (default) or 32-bit floats. */
  encoding: v.optional(v.picklist(['s16le', 'f32le']), 's16le'),
});

export type WavFileOptions = v.InferInput<typeof schema>;

/** What a `wavFile` run gives back. */
export interface WavFileResult {
  path: string;
  encoding: 's16le' | 'f32le';
  sampleRate: number;
  channels: number;
  /** Bytes of audio after the 44-byte header. */
  dataBytes: number;
  /** Duration of the audio written. */
  durationMs: number;
}

/**
 * A sink that streams PCM into a WAV file: the header goes first with
 * placeholder sizes, audio is written as it arrives (never held in memory),
 * and the RIFF and data sizes are patched in place at the end — also when
 * the run is aborted or fails, so the file on disk is always a valid,
 * correctly sized WAV of what arrived. Use it to save speech to disk.
 * An unwritable path fails the run at once with a `bad-request` error.
 *
 * ```ts
 * await pipeline(ttsSource({ baseUrl, text: 'Hello' }), decode(), wavFile('hello.wav')).done;
 * await pipeline(tone({ ms: 500 }), wavFile({ path: 'beep.wav', encoding: 'f32le' })).done;
 * ```
 */
export function wavFile(path: string, options?: Omit<WavFileOptions, 'path'>): SinkStage<PcmChunk, WavFileResult>;
export function wavFile(options: WavFileOptions): SinkStage<PcmChunk, WavFileResult>;
export function wavFile(pathOrOptions: string | WavFileOptions, options: Omit<WavFileOptions, 'path'> = {}): SinkStage<PcmChunk, WavFileResult> {
  const input = typeof pathOrOptions === 'string' ? { ...options, path: pathOrOptions } : pathOrOptions;
  const o = parseOptions('wavFile', schema, input);
  const { path, encoding } = o;
  return {
    role: 'sink',
    name: 'wavFile',
    takes: anyPcm,
    spec: { stage: 'wavFile', options: { ...o } },
    open(ctx, format) {
      const guard = layoutGuard('wavFile');
      let handle: FileHandle | undefined;
      let header: Uint8Array | undefined;
      let layout = { sampleRate: format.sampleRate ?? 24000, channels: format.channels ?? 1 };
      let dataBytes = 0;
      let finishing: Promise<void> | undefined;

      const writeAt = (bytes: Uint8Array, position: number) => writeFully(handle!, bytes, position);
      const writeHeader = async () => {
        header = wavHeader({ ...layout, encoding });
        await writeAt(header, 0);
      };
      // Patches the sizes and closes the file; runs once, however the run ends.
      const finish = () =>
        (finishing ??= (async () => {
          if (!handle) return;
          try {
            if (!header) await writeHeader();
            await writeAt(patchWavSizes(header!, dataBytes), 0);
          } finally {
            const h = handle;
            handle = undefined;
            await h.close();
          }
        })());

      ctx.defer(() => {
        // A safety net only: close, abort and a failed write have all patched and closed the file already.
        const h = handle;
        handle = undefined;
        void h?.close().catch(() => {});
      });

      return {
        sink: {
          async start() {
            try {
              handle = await open(path, 'w');
            } catch (error) {
              throw fileError(error, 'wavFile', path, 'open');
            }
          },
          async write(chunk) {
            try {
              layout = guard(chunk);
              if (!header) await writeHeader();
              if (pcmFrames(chunk) === 0) return;
              const bytes = interleave(chunk, encoding);
              await writeAt(bytes, WAV_HEADER_BYTES + dataBytes);
              dataBytes += bytes.byteLength;
            } catch (error) {
              // A failed write errors the stream without calling abort: leave a valid file of what was written.
              await finish().catch(() => {});
              throw fileError(error, 'wavFile', path, 'write');
            }
          },
          async close() {
            try {
              await finish();
            } catch (error) {
              throw fileError(error, 'wavFile', path, 'write');
            }
          },
          async abort() {
            try {
              await finish();
            } catch (error) {
              ctx.emit('warning', { code: 'wav-unfinished', message: fileError(error, 'wavFile', path, 'write').message });
            }
          },
        },
        result: () => ({
          path,
          encoding,
          ...layout,
          dataBytes,
          durationMs: (dataBytes / (SAMPLE_BYTES[encoding] * layout.channels) / layout.sampleRate) * 1000,
        }),
      };
    },
  };
}
