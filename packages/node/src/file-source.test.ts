import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, pipeline, VoxpipeError, type SinkStage } from '@voxpipe/core';
import { fileSource, formatFromPath } from './file-source.js';
import { openDescriptors, stalledSink, tempDir, until } from './test-support.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));
let n = 0;

describe('fileSource', () => {
  it('reads the file exactly, in chunks of at most chunkSize, counting bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 2048 }), async (bytes, chunkSize) => {
        const path = join(dir, `in-${n++}.mp3`);
        await writeFile(path, bytes);
        const run = pipeline(fileSource(path, { chunkSize }), collect({ kind: 'bytes' }));
        const { value } = await run.done;
        expect(value!.bytes).toEqual(bytes);
        expect(value!.chunks.every((c) => (c as Uint8Array).byteLength <= chunkSize && (c as Uint8Array).byteLength > 0)).toBe(true);
        expect(run.metrics.bytes).toBe(bytes.byteLength);
        expect(value!.format).toEqual({ kind: 'bytes', container: 'mp3' });
      }),
      { numRuns: 25 },
    );
  });

  it('declares its format from the extension', () => {
    expect(formatFromPath('a/b.MP3')).toEqual({ kind: 'bytes', container: 'mp3' });
    expect(formatFromPath('x.wav')).toEqual({ kind: 'bytes', container: 'wav' });
    expect(formatFromPath('x.raw')).toEqual({ kind: 'bytes', container: 'pcm' });
    expect(formatFromPath('x.pcm')).toEqual({ kind: 'bytes', container: 'pcm' });
    expect(formatFromPath('x.bin')).toEqual({ kind: 'bytes' });
    expect(fileSource({ path: 'call.raw', sampleRate: 8000, encoding: 's16le' }).gives).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 8000 });
  });

  it('closes the file when the run is aborted mid-read', async () => {
    const path = join(dir, 'big.wav');
    await writeFile(path, new Uint8Array(1 << 20));
    const stalled = stalledSink();
    const run = pipeline(fileSource(path, { chunkSize: 1000 }), stalled);
    await until(() => stalled.writes() === 1);
    const before = await openDescriptors(path);
    if (before !== undefined) expect(before).toBe(1);
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
    expect([0, undefined]).toContain(await openDescriptors(path));
  });

  it('closes the file when the run completes or fails downstream', async () => {
    const path = join(dir, 'small.raw');
    await writeFile(path, new Uint8Array(5000));
    await pipeline(fileSource(path, { chunkSize: 700 }), collect({ kind: 'bytes' })).done;
    expect([0, undefined]).toContain(await openDescriptors(path));
    const failing: SinkStage<Uint8Array, undefined> = {
      role: 'sink',
      name: 'failing',
      takes: { kind: 'bytes' },
      open: () => ({ sink: { write: () => Promise.reject(new VoxpipeError('internal', 'boom')) }, result: () => undefined }),
    };
    await expect(pipeline(fileSource(path, { chunkSize: 700 }), failing).done).rejects.toThrow('boom');
    expect([0, undefined]).toContain(await openDescriptors(path));
  });

  it('fails with a bad-request error naming a missing file', async () => {
    const path = join(dir, 'nope.mp3');
    const error = await pipeline(fileSource(path), collect({ kind: 'bytes' })).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'bad-request', stage: 'fileSource' });
    expect(error.message).toContain(path);
  });

  it('rejects bad options and round-trips its spec', () => {
    expect(() => fileSource('x.mp3', { chunkSize: 0 })).toThrow(/fileSource.*chunkSize/);
    expect(fileSource('x.mp3').spec).toEqual({ stage: 'fileSource', options: { path: 'x.mp3', chunkSize: 65536 } });
  });
});
