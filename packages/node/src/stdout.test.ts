import { spawn } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBytes, pipeline } from '@voxpipe/core';
import { bytePartitions } from '@voxpipe/core/testing';
import { stdout } from './stdout.js';
import { concatBytes, repeatBytes, until } from './test-support.js';

describe('stdout', () => {
  it('writes exactly the bytes that arrive, in order, for any split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }).chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes))),
        async ([bytes, parts]) => {
          const stream = new PassThrough();
          const got: Uint8Array[] = [];
          stream.on('data', (c: Uint8Array) => got.push(c));
          const { value } = await pipeline(fromBytes(parts), stdout({}, { stream })).done;
          expect(new Uint8Array(concatBytes(got))).toEqual(bytes);
          expect(value).toEqual({ bytes: bytes.byteLength, readerGone: false });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('waits for drain behind a stalled reader, and an abort does not hang', async () => {
    const piece = new Uint8Array(1024);
    let held: (() => void) | undefined;
    let accepted = 0;
    const stalled = new Writable({
      highWaterMark: 4096,
      write(chunk: Uint8Array, _enc, callback) {
        accepted += chunk.byteLength;
        held = callback; // never called: the reader stalls
      },
    });
    let pulled = 0;
    const run = pipeline(repeatBytes(piece, 10_000, (n) => (pulled = n)), stdout({}, { stream: stalled }));
    await until(() => held !== undefined);
    await until(async () => {
      const before = pulled;
      await new Promise((r) => setTimeout(r, 20));
      return pulled === before;
    });
    expect(pulled).toBeLessThan(20); // 4 KiB of buffer + one chunk in flight each side, not 10 000 KiB
    expect(accepted).toBe(1024);
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
  });

  it('handles EPIPE quietly when the reader goes away', async () => {
    const head = spawn('head', ['-c', '100'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise((resolve) => head.once('close', resolve));
    const run = pipeline(repeatBytes(new Uint8Array(4096).fill(65), 2000), stdout({}, { stream: head.stdin! }));
    const warnings: string[] = [];
    run.events.on('warning', (e) => warnings.push(e.detail.code));
    const { outcome, value } = await run.done;
    await exited;
    expect(outcome).toBe('completed');
    expect(value!.readerGone).toBe(true);
    expect(warnings).toEqual(['reader-gone']);
  });
});
