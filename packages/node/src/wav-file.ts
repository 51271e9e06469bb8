import { ftruncateSync, writeSync } from 'node:fs';
import { anyPcm, parseOptions, pcmFrames, type PcmChunk, type SinkStage } from '@voxpipe/core';
import { patchWavSizes, wavHeader, WAV_HEADER_BYTES } from '@voxpipe/codecs';
import * as v from 'valibot';
import { CoalescedWrites } from './coalesced-writes.js';
import { fileError } from './io.js';
import { openOutputFile, type OutputFile } from './output-file.js';
import { interleave, layoutGuard, SAMPLE_BYTES } from './pcm-bytes.js';
import { writtenWords } from './written-words.js';

const schema = v.strictObject({
  /** Where to write; an existing file is replaced when the run ends with audio. */
  path: v.pipe(v.string(), v.minLength(1)),
  /** Sample format: 16-bit integers (default) or 32-bit floats. */
  encoding: v.optional(v.picklist(['s16le', 'f32le']), 's16le'),
  /** Write beside `path` under a temporary name and move it into place at the end (default true); false writes `path` as it goes. */
  atomic: v.optional(v.boolean()),
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
 * placeholder sizes, audio is written as it arrives (chunks that arrive while
 * a write is in flight go out together in the next, as a WriteStream does;
 * at most 64 KiB wait in memory before the pipeline is held back),
 * and the RIFF and data sizes are patched in place at the end — also when
 * the run is aborted or fails, or the process exits mid-run, so a file on
 * disk is always a valid, correctly sized WAV of what arrived. Use it to
 * save speech to disk. The audio goes to a hidden temporary file beside
 * `path` that takes its place when the run ends: a run that fails or is
 * aborted before any audio leaves no file (and an earlier file at `path`
 * untouched), never a header that promises audio. An unwritable path fails
 * the run at once with a `bad-request` error.
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
  const atomic = o.atomic ?? true;
  return {
    role: 'sink',
    name: 'wavFile',
    takes: anyPcm,
    spec: { stage: 'wavFile', options: { ...o } },
    open(ctx, format) {
      const guard = layoutGuard('wavFile');
      const written = writtenWords(ctx);
      let file: OutputFile | undefined;
      let header: Uint8Array | undefined;
      /** The file's bytes from position 0: the header, then the audio; undefined until the first chunk. */
      let writes: CoalescedWrites | undefined;
      let layout = { sampleRate: format.sampleRate ?? 24000, channels: format.channels ?? 1 };
      let finishing: Promise<void> | undefined;

      const headerNow = () => (header ??= wavHeader({ ...layout, encoding }));
      /** Audio bytes on disk. */
      const dataBytes = () => (writes ? writes.written - WAV_HEADER_BYTES : 0);
      // Waits for the writes, patches the sizes and ends the file: kept when the run completed or audio arrived, else removed. Runs once.
      const finish = (completed: boolean) =>
        (finishing ??= (async () => {
          if (!file) return;
          let failed: { error: unknown } | undefined;
          if (writes) await writes.drain().catch((error: unknown) => (failed = { error }));
          try {
            await file.write(patchWavSizes(headerNow(), dataBytes()), 0);
          } catch (error) {
            await file.discard();
            throw error;
          }
          if ((completed && !failed) || dataBytes() > 0) await file.keep();
          else await file.discard();
          if (failed) throw failed.error;
        })());

      ctx.defer(() => {
        // A safety net only: close, abort and a failed write have all ended the file already.
        if (file && !file.ended) void file.discard().catch(() => {});
      });

      return {
        sink: {
          async start() {
            file = await openOutputFile(path, {
              stage: 'wavFile',
              atomic,
              onExit(fd) {
                // Everything taken goes to disk now, then the sizes say so.
                writes?.flushSync(fd);
                const data = writes ? writes.accepted - WAV_HEADER_BYTES : 0;
                writeSync(fd, patchWavSizes(headerNow(), data), 0, WAV_HEADER_BYTES, 0);
                ftruncateSync(fd, WAV_HEADER_BYTES + data);
                return data > 0;
              },
            });
          },
          async write(chunk) {
            try {
              layout = guard(chunk);
              const first = !writes;
              if (!writes) {
                writes = new CoalescedWrites(file!, 0);
                writes.push(headerNow().slice());
              }
              if (pcmFrames(chunk) > 0) await writes.push(interleave(chunk, encoding));
              written(chunk);
              // The header and the first audio are on disk before the next chunk is taken (and a bad file fails here, at once).
              if (first) await writes.drain();
            } catch (error) {
              // A failed write errors the stream without calling abort: leave a valid file of what was written.
              await finish(false).catch(() => {});
              throw fileError(error, 'wavFile', path, 'write');
            }
          },
          async close() {
            try {
              await finish(true);
            } catch (error) {
              throw fileError(error, 'wavFile', path, 'write');
            }
          },
          async abort() {
            try {
              await finish(false);
            } catch (error) {
              ctx.emit('warning', { code: 'wav-unfinished', message: fileError(error, 'wavFile', path, 'write').message });
            }
          },
        },
        result: () => ({
          path,
          encoding,
          ...layout,
          dataBytes: dataBytes(),
          durationMs: (dataBytes() / (SAMPLE_BYTES[encoding] * layout.channels) / layout.sampleRate) * 1000,
        }),
      };
    },
  };
}
