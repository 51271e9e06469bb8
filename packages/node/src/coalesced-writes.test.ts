import { closeSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoalescedWrites } from './coalesced-writes.js';
import type { OutputFile } from './output-file.js';
import { tempDir } from './test-support.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));

/** An in-memory file whose writes finish when `release` is called (or fail when `fail` is). */
function heldFile() {
  const bytes: number[] = [];
  const calls: Array<{ position: number; length: number }> = [];
  let pending: Array<{ settle: (error?: Error) => void }> = [];
  const file: OutputFile = {
    write: (data, position) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ position, length: data.byteLength });
        pending.push({
          settle: (error) => {
            if (error) return reject(error);
            data.forEach((b, i) => (bytes[position + i] = b));
            resolve();
          },
        });
      }),
    keep: async () => {},
    discard: async () => {},
    ended: false,
  };
  const settleAll = async (error?: Error) => {
    while (pending.length > 0) {
      const now = pending;
      pending = [];
      for (const p of now) p.settle(error);
      await new Promise((r) => setImmediate(r));
    }
  };
  return { file, bytes, calls, release: () => settleAll(), fail: (error: Error) => settleAll(error) };
}

const piece = (n: number, value: number) => new Uint8Array(n).fill(value);

describe('CoalescedWrites', () => {
  it('joins what arrives during a write into the next one, in order and at the right places', async () => {
    const held = heldFile();
    const writes = new CoalescedWrites(held.file, 10);
    for (let i = 0; i < 5; i++) expect(writes.push(piece(100, i))).toBeUndefined();
    expect(held.calls).toEqual([{ position: 10, length: 100 }]); // one in flight, four waiting
    await held.release();
    expect(held.calls).toEqual([
      { position: 10, length: 100 },
      { position: 110, length: 400 },
    ]);
    await writes.drain();
    expect(writes.written).toBe(500);
    expect(writes.accepted).toBe(500);
    expect(held.bytes.slice(10)).toEqual(Array.from({ length: 500 }, (_, i) => Math.floor(i / 100)));
  });

  it('holds the producer back once more than 64 KiB wait behind the write in flight', async () => {
    const held = heldFile();
    const writes = new CoalescedWrites(held.file, 0);
    let waitedAt = -1;
    for (let i = 0; i < 100 && waitedAt < 0; i++) if (writes.push(piece(1024, 1))) waitedAt = i;
    expect(waitedAt).toBe(65); // 1 KiB in flight, then 65 KiB queued
    await held.release();
    await writes.drain();
    expect(writes.written).toBe(66 * 1024);
  });

  it('throws a failed write from the next push and from drain, counting only what reached the file', async () => {
    const held = heldFile();
    const writes = new CoalescedWrites(held.file, 0);
    writes.push(piece(10, 1));
    await held.release();
    writes.push(piece(10, 2));
    await held.fail(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    expect(() => writes.push(piece(10, 3))).toThrow(/ENOSPC/);
    await expect(writes.drain()).rejects.toThrow(/ENOSPC/);
    expect(writes.written).toBe(10);
  });

  it('puts everything taken on disk synchronously at exit, the write in flight included', async () => {
    const held = heldFile();
    const writes = new CoalescedWrites(held.file, 4);
    writes.push(piece(3, 7)); // in flight, never finishes
    writes.push(piece(2, 8)); // queued
    const path = join(dir, 'exit.bin');
    const fd = openSync(path, 'w');
    writes.flushSync(fd);
    closeSync(fd);
    expect([...readFileSync(path)]).toEqual([0, 0, 0, 0, 7, 7, 7, 8, 8]);
  });
});
