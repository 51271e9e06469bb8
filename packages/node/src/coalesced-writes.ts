// Internal: positional file writes that do not wait for the disk one chunk at a time.
import { writeSync } from 'node:fs';
import type { OutputFile } from './output-file.js';

/** Bytes queued behind the write in flight before `push` makes its caller wait (as a WriteStream's highWaterMark). */
const HIGH_WATER = 64 * 1024;

/**
 * Writes a stream of byte chunks to consecutive positions of a file the way
 * a Node WriteStream does: one write in flight at a time, chunks that arrive
 * meanwhile joined into the next write, and the caller held back only when
 * more than 64 KiB wait behind it. So a fast producer costs one system call
 * per batch, not a thread-pool round trip per 20 ms chunk, and a slow disk
 * still holds the producer back. `written` counts bytes on disk, `accepted`
 * bytes taken; `drain` waits until they agree.
 */
export class CoalescedWrites {
  /** Bytes taken so far (from `start`). */
  accepted = 0;
  /** Bytes known to be on disk (from `start`). */
  written = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private inFlight: { bytes: Uint8Array; position: number; done: Promise<void> } | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly file: OutputFile,
    /** File position of the first byte. */
    private readonly start: number,
  ) {}

  /**
   * Takes `bytes` for the next position. Returns a promise when the caller
   * should wait (the queue is full), else undefined. A failed earlier write
   * is thrown here (or by `drain`).
   */
  push(bytes: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure.error;
    if (bytes.byteLength === 0) return undefined;
    this.queue.push(bytes);
    this.queued += bytes.byteLength;
    this.accepted += bytes.byteLength;
    if (!this.inFlight) this.next();
    return this.queued > HIGH_WATER ? this.inFlight!.done : undefined;
  }

  /** Waits until everything taken is on disk; throws the first failed write. */
  async drain(): Promise<void> {
    while (this.inFlight) await this.inFlight.done;
    if (this.failure) throw this.failure.error;
  }

  /**
   * At process exit, with only synchronous calls: writes what is in flight
   * (again: the same bytes at the same place) and queued, so the file holds
   * everything taken.
   */
  flushSync(fd: number): void {
    const write = (bytes: Uint8Array, position: number) => {
      for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
    };
    let position = this.start + this.written;
    if (this.inFlight) {
      write(this.inFlight.bytes, this.inFlight.position);
      position = this.inFlight.position + this.inFlight.bytes.byteLength;
    }
    for (const bytes of this.queue) {
      write(bytes, position);
      position += bytes.byteLength;
    }
  }

  /** Starts writing everything queued as one write. */
  private next(): void {
    const bytes = this.queue.length === 1 ? this.queue[0] : join(this.queue, this.queued);
    this.queue = [];
    this.queued = 0;
    const position = this.start + this.written;
    const done = this.file.write(bytes, position).then(
      () => {
        this.written += bytes.byteLength;
        this.inFlight = undefined;
        if (this.queue.length > 0) this.next();
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight = undefined;
      },
    );
    this.inFlight = { bytes, position, done };
  }
}

function join(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
