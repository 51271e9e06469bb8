// Internal helpers shared by the Node sinks and sources.
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { VoxpipeError } from '@voxpipe/core';

const SETUP_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EEXIST']);

/**
 * A file-system error as a VoxpipeError. Problems with the path itself
 * (missing directory, no permission, a directory, read-only) are
 * `bad-request`: retrying cannot help, the caller must change the path.
 * Anything else (disk full, I/O error) is `internal`.
 */
export function fileError(error: unknown, stage: string, path: string, action: 'open' | 'write' | 'read'): VoxpipeError {
  if (error instanceof VoxpipeError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  const verb = action === 'open' ? 'open' : action === 'write' ? 'write to' : 'read';
  return new VoxpipeError(code && SETUP_CODES.has(code) ? 'bad-request' : 'internal', `"${stage}" cannot ${verb} ${path}: ${reason}`, {
    stage,
    cause: error,
  });
}

/** Writes all of `bytes` at `position`, however many calls the file system takes. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes `bytes` to a Node Writable and, when it says its buffer is full,
 * waits for `drain` — the backpressure that keeps a fast pipeline from
 * piling audio into memory. Also stops waiting when the stream closes or
 * errors (the caller learns why from its own listeners) or `signal` aborts,
 * so an aborted run never waits on a stalled reader.
 */
export function writeWithDrain(stream: Writable | NodeJS.WritableStream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> | void {
  const w = stream as Writable;
  if (w.destroyed || w.writableEnded) return;
  if (w.write(bytes)) return;
  return new Promise<void>((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done, { once: true });
  });
}
