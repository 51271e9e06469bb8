import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fromBytes, pipeline, ReadableStream, VoxpipeError, type SourceStage } from '@voxpipe/core';
import { bytePartitions } from '@voxpipe/core/testing';
import { rawFile } from './raw-file.js';
import { concatBytes, openDescriptors, tempDir } from './test-support.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `out-${n++}.bin`);

describe('rawFile', () => {
  it('writes exactly the bytes that arrive, for any split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }).chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes))),
        async ([bytes, parts]) => {
          const path = fresh();
          const { value } = await pipeline(fromBytes(parts), rawFile(path)).done;
          expect(new Uint8Array(await readFile(path))).toEqual(bytes);
          expect(value).toEqual({ path, bytes: bytes.byteLength });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('keeps what arrived and closes the file when aborted', async () => {
    const path = fresh();
    const piece = new Uint8Array(1000).map((_, i) => i % 251);
    let run: ReturnType<typeof pipeline<unknown>> | undefined;
    let sent = 0;
    const endless: SourceStage<Uint8Array> = {
      role: 'source',
      name: 'endless',
      gives: { kind: 'bytes' },
      open: () =>
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (++sent === 7) run!.abort();
              controller.enqueue(piece);
            },
          },
          { highWaterMark: 0 },
        ),
    };
    run = pipeline(endless, rawFile({ path }));
    expect((await run.done).outcome).toBe('aborted');
    const written = new Uint8Array(await readFile(path));
    expect(written.byteLength % 1000).toBe(0);
    expect(written.byteLength).toBeGreaterThan(0);
    expect(written).toEqual(concatBytes(Array.from({ length: written.byteLength / 1000 }, () => piece)));
    expect([0, undefined]).toContain(await openDescriptors(path));
  });

  it('leaves no file when the run fails before any bytes, and an earlier file untouched', async () => {
    const path = fresh();
    const failing: SourceStage<Uint8Array> = {
      role: 'source',
      name: 'failing',
      gives: { kind: 'bytes' },
      open: () => new ReadableStream<Uint8Array>({ pull: (c) => c.error(new VoxpipeError('network', 'Connection refused')) }),
    };
    expect(await pipeline(failing, rawFile(path)).done.catch((e) => e.code)).toBe('network');
    expect(existsSync(path)).toBe(false);
    await writeFile(path, 'earlier take');
    expect(await pipeline(failing, rawFile(path)).done.catch((e) => e.code)).toBe('network');
    expect(await readFile(path, 'utf8')).toBe('earlier take');
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('fails at once with a bad-request error for an unwritable path', async () => {
    const path = join(dir, 'no-such-dir', 'x.mp3');
    const error = await pipeline(fromBytes(new Uint8Array(10)), rawFile(path)).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'bad-request', stage: 'rawFile' });
    expect(error.message).toContain(path);
  });

  it('rejects a PCM pipeline at assembly and bad options', async () => {
    const { tone } = await import('@voxpipe/core');
    expect(() => pipeline(tone({ ms: 10 }), rawFile('x.raw'))).toThrow(/rawFile.*takes bytes/);
    expect(() => rawFile({ path: 3 } as never)).toThrow(/rawFile.*path/);
  });
});
