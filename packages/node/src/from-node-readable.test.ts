import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline as nodePipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, pipeline, tone, VoxpipeError, type SinkStage } from '@voxpipe/core';
import { decode, wavEncode } from '@voxpipe/codecs';
import { fromNodeReadable } from './from-node-readable.js';
import { toNodeReadable } from './to-node-readable.js';
import { toNodeWritable } from './to-node-writable.js';
import { wavFile } from './wav-file.js';
import { readWav, referenceS16, stalledSink, tempDir, until } from './test-support.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));
const toneS16 = async (ms: number) => referenceS16((await pipeline(tone({ ms }), collect()).done).value!.pcm!);

describe('fromNodeReadable', () => {
  it('reads a Node stream exactly, for any chunking, counting bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), async (parts) => {
        const run = pipeline(fromNodeReadable(Readable.from(parts.map((p) => Buffer.from(p)))), collect({ kind: 'bytes' }));
        const { value } = await run.done;
        const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
        expect(Buffer.from(value!.bytes!)).toEqual(all);
        expect(run.metrics.bytes).toBe(all.byteLength);
      }),
      { numRuns: 40 },
    );
  });

  it('decodes a WAV file read through fs.createReadStream', async () => {
    const wavPath = join(dir, 'in.wav');
    await pipeline(tone({ ms: 300 }), wavFile(wavPath)).done;
    const source = fromNodeReadable(createReadStream(wavPath, { highWaterMark: 1001 }), { format: { kind: 'bytes', container: 'wav' } });
    const { value } = await pipeline(source, decode(), collect()).done;
    expect(referenceS16(value!.pcm!)).toEqual(await toneS16(300));
  });

  it('round-trips through stream.pipeline: toNodeReadable → toNodeWritable', async () => {
    const path = join(dir, 'round-trip.wav');
    const readable = toNodeReadable([tone({ ms: 400 }), wavEncode()]);
    const writable = toNodeWritable([decode(), wavFile(path)], { format: { kind: 'bytes', container: 'wav' } });
    await nodePipeline(readable, writable);
    // 'finish' came after the sink finished: the file is complete and sized right now.
    const info = readWav(new Uint8Array(await readFile(path)));
    expect(info.riffSize).toBe(info.fileSize - 8);
    expect(info.data).toEqual(await toneS16(400));
    expect(readable.run.metrics.audioMs).toBe(0); // bytes reached its sink, not PCM
    expect((await writable.run.done).outcome).toBe('completed');
    expect(writable.run.metrics.audioMs).toBe(400);
  });

  it('carries PCM objects when the format says pcm', async () => {
    const pcm = (await pipeline(tone({ ms: 100, chunkMs: 10 }), collect()).done).value!.chunks;
    const source = fromNodeReadable(Readable.from(pcm), { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } });
    const { value } = await pipeline(source, collect()).done;
    expect(referenceS16(value!.pcm!)).toEqual(await toneS16(100));
  });

  it('destroys the Node stream when the run is aborted', async () => {
    const endless = new Readable({ read() { this.push(Buffer.alloc(512)); } });
    const stalled = stalledSink();
    const run = pipeline(fromNodeReadable(endless), stalled);
    await until(() => stalled.writes() > 0);
    expect(endless.destroyed).toBe(false);
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
    expect(endless.destroyed).toBe(true);
  });

  it('turns a failing Node stream into a typed error', async () => {
    const failing = new Readable({
      read() {
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      },
    });
    const error = await pipeline(fromNodeReadable(failing), collect({ kind: 'bytes' })).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'network', stage: 'fromNodeReadable' });
    expect(error.message).toContain('socket hang up');
  });

  it('runs once: a Node stream cannot be read twice', async () => {
    const source = fromNodeReadable(Readable.from([Buffer.from('abc')]));
    await pipeline(source, collect({ kind: 'bytes' })).done;
    await expect(pipeline(source, collect({ kind: 'bytes' })).done).rejects.toThrow(/only be read once/);
    expect(() => fromNodeReadable(42 as never)).toThrow(VoxpipeError);
  });
});
