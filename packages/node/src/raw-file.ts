import { open, type FileHandle } from 'node:fs/promises';
import { anyBytes, parseOptions, VoxpipeError, type SinkStage } from '@voxpipe/core';
import * as v from 'valibot';
import { fileError, writeFully } from './io.js';

const schema = v.strictObject({
  /** Where to write; an existing file is replaced. */
  path: v.pipe(v.string(), v.minLength(1)),
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
 * flat. An unwritable path fails the run at once with a `bad-request` error;
 * on abort the file keeps what arrived.
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
      let handle: FileHandle | undefined;
      let written = 0;
      const closeFile = async () => {
        const h = handle;
        handle = undefined;
        await h?.close();
      };
      ctx.defer(() => void closeFile().catch(() => {}));
      return {
        sink: {
          async start() {
            try {
              handle = await open(path, 'w');
            } catch (error) {
              throw fileError(error, 'rawFile', path, 'open');
            }
          },
          async write(chunk) {
            if (!ArrayBuffer.isView(chunk)) {
              await closeFile().catch(() => {});
              throw new VoxpipeError('format', '"rawFile" takes Uint8Array chunks', { stage: 'rawFile' });
            }
            const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
            try {
              await writeFully(handle!, bytes, written);
              written += bytes.byteLength;
            } catch (error) {
              await closeFile().catch(() => {});
              throw fileError(error, 'rawFile', path, 'write');
            }
          },
          async close() {
            try {
              await closeFile();
            } catch (error) {
              throw fileError(error, 'rawFile', path, 'write');
            }
          },
          async abort() {
            await closeFile().catch(() => {});
          },
        },
        result: () => ({ path, bytes: written }),
      };
    },
  };
}
