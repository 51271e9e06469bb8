import { Writable } from 'node:stream';
import { pipeline as nodePipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { collect, pipeline, ReadableStream, tone, VoxpipeError, type SourceStage } from '@voxpipe/core';
import { wavEncode } from '@voxpipe/codecs';
import { toNodeReadable } from './to-node-readable.js';
import { concatBytes, until } from './test-support.js';

const sinkInto = (parts: unknown[]) =>
  new Writable({
    objectMode: true,
    write(chunk, _enc, callback) {
      parts.push(chunk);
      callback();
    },
  });

describe('toNodeReadable', () => {
  it('gives a chain’s bytes, the same as a voxpipe sink gets them', async () => {
    const expected = (await pipeline(tone({ ms: 500 }), wavEncode(), collect({ kind: 'bytes' })).done).value!.bytes!;
    const readable = toNodeReadable([tone({ ms: 500 }), wavEncode()]);
    const parts: Uint8Array[] = [];
    await nodePipeline(readable, sinkInto(parts));
    expect(concatBytes(parts)).toEqual(expected);
    expect(readable.readableObjectMode).toBe(false);
    expect((await readable.run.done).outcome).toBe('completed');
  });

  it('gives PCM as objects', async () => {
    const readable = toNodeReadable(tone({ ms: 100, chunkMs: 25 }));
    expect(readable.readableObjectMode).toBe(true);
    const chunks = await readable.toArray();
    expect(chunks).toHaveLength(4);
    expect(chunks[0]).toMatchObject({ sampleRate: 24000 });
  });

  it('wraps a WHATWG ReadableStream', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([1, 2, 3]));
        c.enqueue(new Uint8Array([4]));
        c.close();
      },
    });
    const parts: Uint8Array[] = [];
    await nodePipeline(toNodeReadable(stream), sinkInto(parts));
    expect(concatBytes(parts)).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it('holds the run back while nobody reads, and destroying it aborts the run', async () => {
    const readable = toNodeReadable([tone({ ms: 60_000 }), wavEncode()]);
    const { run } = readable;
    await until(() => run.metrics.firstAudioMs !== undefined);
    await until(async () => {
      const before = readable.readableLength;
      await new Promise((r) => setTimeout(r, 20));
      return readable.readableLength === before;
    });
    // 16 KiB of readable buffer is a third of a second of 24 kHz s16 audio, not a minute.
    expect(readable.readableLength).toBeLessThan(64 * 1024);
    readable.destroy();
    expect((await run.done).outcome).toBe('aborted');
  });

  it('errors with the run’s VoxpipeError when the run fails', async () => {
    const broken: SourceStage<Uint8Array> = {
      role: 'source',
      name: 'broken',
      gives: { kind: 'bytes' },
      open: () =>
        new ReadableStream<Uint8Array>({
          pull(c) {
            c.error(new VoxpipeError('network', 'connection lost'));
          },
        }),
    };
    const error = await nodePipeline(toNodeReadable(broken), sinkInto([])).catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error.code).toBe('network');
  });

  it('errors with an aborted VoxpipeError when the run is aborted', async () => {
    const controller = new AbortController();
    const readable = toNodeReadable([tone({ ms: 60_000 })], { signal: controller.signal });
    const reading = nodePipeline(readable, new Writable({ objectMode: true, write: (_c, _e, cb) => setTimeout(cb, 1) })).catch((e) => e);
    await until(() => readable.run.metrics.audioMs > 0);
    controller.abort();
    const error = await reading;
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error.code).toBe('aborted');
  });

  it('rejects what is not a stream or a source chain', () => {
    expect(() => toNodeReadable([] as never)).toThrow(/toNodeReadable/);
  });
});
