import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline as nodePipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, pipeline, tone, VoxpipeError, WritableStream, type SinkStage } from '@voxpipe/core';
import { rawFile } from './raw-file.js';
import { toNodeWritable } from './to-node-writable.js';
import { wavFile } from './wav-file.js';
import { readWav, referenceS16, stalledSink, tempDir, until } from './test-support.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('toNodeWritable', () => {
  it('takes PCM objects from a Node stream into wavFile; finish means the file is complete', async () => {
    const { chunks, pcm } = (await pipeline(tone({ ms: 300, chunkMs: 7 }), collect()).done).value!;
    const path = join(dir, 'objects.wav');
    const writable = toNodeWritable(wavFile(path), { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } });
    expect(writable.writableObjectMode).toBe(true);
    await nodePipeline(Readable.from(chunks), writable);
    const info = readWav(new Uint8Array(await readFile(path)));
    expect(info.riffSize).toBe(info.fileSize - 8);
    expect(info.data).toEqual(referenceS16(pcm!));
    const result = await writable.run.done;
    expect(result.value).toMatchObject({ dataBytes: 14400 });
  });

  it('takes bytes (Buffers and strings) into rawFile', async () => {
    const path = join(dir, 'bytes.bin');
    await nodePipeline(Readable.from([Buffer.from('ab'), Buffer.from([0, 255]), 'cd'], { objectMode: false }), toNodeWritable(rawFile(path)));
    expect(new Uint8Array(await readFile(path))).toEqual(new Uint8Array([97, 98, 0, 255, 99, 100]));
  });

  it('wraps a WHATWG WritableStream', async () => {
    const got: number[] = [];
    const ws = new WritableStream<Uint8Array>({ write: (c) => void got.push(...c) });
    await nodePipeline(Readable.from([Buffer.from([1, 2]), Buffer.from([3])]), toNodeWritable(ws));
    expect(got).toEqual([1, 2, 3]);
  });

  it('makes Node writers wait while the sink is busy, and destroying it aborts the run', async () => {
    const stalled = stalledSink();
    const writable = toNodeWritable(stalled);
    let accepted = 0;
    while (writable.write(Buffer.alloc(1024))) accepted++;
    await until(() => stalled.writes() === 1);
    expect(accepted).toBeLessThan(20); // the writable's 16 KiB, then it says "wait"
    await new Promise((r) => setTimeout(r, 20));
    expect(writable.writableNeedDrain).toBe(true);
    writable.destroy();
    expect((await writable.run.done).outcome).toBe('aborted');
  });

  it('fails the Node pipeline with the sink’s VoxpipeError', async () => {
    const path = join(dir, 'missing', 'x.wav');
    const writable = toNodeWritable(wavFile(path), { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } });
    const { chunks } = (await pipeline(tone({ ms: 100 }), collect()).done).value!;
    const error = await nodePipeline(Readable.from(chunks), writable).catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'bad-request', stage: 'wavFile' });
  });

  it('checks formats at once', () => {
    expect(() => toNodeWritable(wavFile(join(dir, 'x.wav')))).toThrow(/wavFile.*takes pcm/);
    expect(() => toNodeWritable([] as never)).toThrow(/toNodeWritable/);
  });
});
