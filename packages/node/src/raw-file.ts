import { anyBytes, parseOptions, VoxpipeError, type SinkStage } from '@voxpipe/core';
import * as v from 'valibot';
import { fileError } from './io.js';
import { openOutputFile, type OutputFile } from './output-file.js';

const schema = v.strictObject({
  /** Where to write; an existing file is replaced when the run ends with bytes. */
  path: v.pipe(v.string(), v.minLength(1)),
  /** Write beside `path` under a temporary name and move it into place at the end (default true); false writes `path` as it goes. */
  atomic: v.optional(v.boolean()),
});

export type RawFileOptions = v.InferInput<typeof schema>;

/** What a `rawFile` run gives back. */
export interface RawFileResult {
  path: string;
  /** Bytes written. */
  bytes: number;
}

/**
 * A sink that writes the bytes that reach it to a file, exactly as they
 * arrive — an MP3 response as `.mp3`, raw PCM as `.pcm`, a WAV stream as
 * `.wav`. Each chunk is written before the next is taken, so memory stays
 * flat. The bytes go to a hidden temporary file beside `path` that takes its
 * place when the run ends; a run that fails or is aborted keeps what arrived,
 * and one that ends before any bytes leaves no file (an earlier file at
 * `path` untouched). A device or FIFO path is written directly. An
 * unwritable path fails the run at once with a `bad-request` error.
 *
 * ```ts
 * await pipeline(ttsSource({ baseUrl, text: 'Hello', format: 'mp3' }), rawFile('hello.mp3')).done;
 * await pipeline(tone({ ms: 500 }), pcmEncode(), rawFile({ path: 'beep.pcm' })).done;
 * ```
 */
export function rawFile(path: string): SinkStage<Uint8Array, RawFileResult>;
export function rawFile(options: RawFileOptions): SinkStage<Uint8Array, RawFileResult>;
export function rawFile(pathOrOptions: string | RawFileOptions): SinkStage<Uint8Array, RawFileResult> {
  const o = parseOptions('rawFile', schema, typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions);
  const { path } = o;
  return {
    role: 'sink',
    name: 'rawFile',
    takes: anyBytes,
    spec: { stage: 'rawFile', options: { ...o } },
    open(ctx) {
      let file: OutputFile | undefined;
      let written = 0;
      // Kept when the run completed or bytes arrived, else removed. Runs once.
      const finish = async (completed: boolean) => {
        if (!file || file.ended) return;
        if (completed || written > 0) await file.keep();
        else await file.discard();
      };
      ctx.defer(() => {
        if (file && !file.ended) void file.discard().catch(() => {});
      });
      return {
        sink: {
          async start() {
            file = await openOutputFile(path, { stage: 'rawFile', atomic: o.atomic ?? true, onExit: () => written > 0 });
          },
          async write(chunk) {
            if (!ArrayBuffer.isView(chunk)) {
              await finish(false).catch(() => {});
              throw new VoxpipeError('format', '"rawFile" takes Uint8Array chunks', { stage: 'rawFile' });
            }
            const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
            try {
              await file!.write(bytes, written);
              written += bytes.byteLength;
            } catch (error) {
              await finish(false).catch(() => {});
              throw fileError(error, 'rawFile', path, 'write');
            }
          },
          async close() {
            try {
              await finish(true);
            } catch (error) {
              throw fileError(error, 'rawFile', path, 'write');
            }
          },
          async abort() {
            await finish(false).catch(() => {});
          },
        },
        result: () => ({ path, bytes: written }),
      };
    },
  };
}
