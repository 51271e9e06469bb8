// Internal: the file a file sink writes, so that its path never holds a file that claims what it does not hold.
import { randomUUID } from 'node:crypto';
import { closeSync, renameSync, unlinkSync } from 'node:fs';
import { open, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError, writeFully } from './io.js';

export interface OutputFileOptions {
  /** The sink's name, for errors. */
  stage: string;
  /**
   * Write to a temporary file beside `path` and move it into place at the end
   * (true), or write `path` itself from the start (false). Paths that are not
   * regular files (a device, a FIFO) are always written in place.
   */
  atomic: boolean;
  /**
   * Runs if the process exits while the file is still open, with only
   * synchronous calls allowed: put the file right (e.g. patch a header) and
   * say whether it holds anything worth keeping.
   */
  onExit(fd: number): boolean;
}

/** An open output file; `keep` or `discard` ends it, once. */
export interface OutputFile {
  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /** Closes the file and moves it to its path (replacing what was there). */
  keep(): Promise<void>;
  /** Closes the file and removes it; the path keeps what it held before. In place, the file just closes. */
  discard(): Promise<void>;
  /** True once `keep` or `discard` has run. */
  readonly ended: boolean;
}

/** What runs at process exit for each output file still open. */
const atExit = new Set<() => void>();
let exitHookInstalled = false;
function onProcessExit(finish: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const f of atExit) f();
    });
  }
  atExit.add(finish);
  return () => atExit.delete(finish);
}

/** A file-system error without the temporary path in its message (the caller names the real one). */
function plain(error: unknown, temp: string): unknown {
  if (!(error instanceof Error)) return error;
  return Object.assign(new Error(error.message.replace(`, open '${temp}'`, '').replace(`'${temp}'`, 'the file')), { code: (error as NodeJS.ErrnoException).code });
}

/**
 * Opens the file a sink writes to `path`. Atomically, the bytes go to a
 * hidden temporary file in the same directory (so the move is a rename on
 * one file system) that becomes `path` only when kept; a discarded or
 * abandoned run leaves `path` as it was. If the process exits with the file
 * still open, `onExit` puts it right and it is kept or removed then.
 * Errors are `fileError`s naming `path`.
 */
export async function openOutputFile(path: string, options: OutputFileOptions): Promise<OutputFile> {
  const { stage } = options;
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw fileError(Object.assign(new Error('EISDIR: it is a directory'), { code: 'EISDIR' }), stage, path, 'open');
  const inPlace = !options.atomic || (existing !== undefined && !existing.isFile());
  const target = existing ? await realpath(path) : path;
  const temp = inPlace ? target : join(dirname(target), `.${basename(target)}.${randomUUID().slice(0, 8)}.partial`);
  let handle: FileHandle;
  try {
    handle = await open(temp, inPlace ? 'w' : 'wx', existing?.isFile() ? existing.mode & 0o7777 : 0o666);
  } catch (error) {
    throw fileError(plain(error, temp), stage, path, 'open');
  }
  let isOpen = true;
  let decided: 'keep' | 'discard' | undefined;
  let ending: Promise<void> | undefined;
  const forget = onProcessExit(() => {
    // The run may be part-way through keeping or discarding: finish that, synchronously.
    let keep = decided === 'keep';
    try {
      if (isOpen && decided === undefined) keep = options.onExit(handle.fd);
      if (isOpen) closeSync(handle.fd);
    } catch {
      keep = false;
    }
    isOpen = false;
    if (inPlace) return;
    try {
      if (keep) renameSync(temp, target);
      else unlinkSync(temp);
    } catch {
      // Already moved or removed by the run itself.
    }
  });
  const close = async () => {
    if (!isOpen) return;
    isOpen = false;
    await handle.close();
  };
  const end = (decision: 'keep' | 'discard', how: () => Promise<void>) => {
    decided ??= decision;
    return (ending ??= how().finally(() => {
      forget();
    }));
  };
  return {
    write: (bytes, position) => writeFully(handle, bytes, position),
    keep: () =>
      end('keep', async () => {
        try {
          await close();
          if (!inPlace) await rename(temp, target);
        } catch (error) {
          if (!inPlace) await rm(temp, { force: true });
          throw fileError(plain(error, temp), stage, path, 'write');
        }
      }),
    discard: () =>
      end('discard', async () => {
        await close().catch(() => {});
        if (!inPlace) await rm(temp, { force: true });
      }),
    get ended() {
      return ending !== undefined;
    },
  };
}
