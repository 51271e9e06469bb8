import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { anyBytes, anyPcm, text } from '../format.js';
import { assemble, pipeline } from '../index.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { bytePartitions, joinBytes, settleTurns, testContext } from '../testing/index.js';
import { fromIterable } from './from-iterable.js';

const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);

describe('fromIterable', () => {
  it('property: gives any split of bytes back whole and in order, counting every byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }).chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes))),
        fc.boolean(),
        async ([bytes, parts], asAsync) => {
          async function* slowly() {
            yield* parts;
          }
          const run = pipeline(fromIterable(asAsync ? slowly() : parts, { format: anyBytes }), collect({ kind: 'bytes' }));
          const { value, metrics } = await run.done;
          expect(value!.chunks).toEqual(parts);
          expect(value!.bytes).toEqual(bytes);
          expect(metrics.bytes).toBe(bytes.byteLength);
          expect(metrics.firstByteMs === undefined).toBe(parts.length === 0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives PCM and text, marking first-audio for PCM', async () => {
    const pcm: PcmChunk[] = [{ sampleRate: 16000, channels: [new Float32Array([0.5, -0.5])] }];
    const run = pipeline(fromIterable(pcm, { format: { kind: 'pcm', sampleRate: 16000, channels: 1 } }), collect());
    const { value, metrics } = await run.done;
    expect(value!.chunks[0]).toBe(pcm[0]);
    expect(metrics.firstAudioMs).toBeDefined();
    expect(metrics.bytes).toBe(0);

    async function* tokens() {
      yield 'Hello, ';
      yield 'world.';
    }
    const words = await pipeline(fromIterable(tokens(), { format: text }), collect({ kind: 'text' })).done;
    expect(words.value!.text).toEqual(['Hello, ', 'world.']);
  });

  it('declares its format and runs again from a fresh iterator when the iterable allows', async () => {
    const format = { kind: 'bytes' as const, container: 'mp3' as const };
    const p = assemble(fromIterable([bytesOf(3), bytesOf(4)], { format }), collect({ kind: 'bytes' }));
    expect(p.formats[0]).toEqual(format);
    expect((await p.run().done).value!.bytes).toEqual(joinBytes([bytesOf(3), bytesOf(4)]));
    expect((await p.run().done).value!.bytes).toEqual(joinBytes([bytesOf(3), bytesOf(4)]));
    const ctx = testContext('fromIterable');
    fromIterable([], { format }).open(ctx);
    expect(ctx.declared).toEqual(format);
  });

  it('asks for the next item only when one is wanted', async () => {
    let asked = 0;
    const counting: Iterable<Uint8Array> = {
      [Symbol.iterator]: () => ({ next: () => ({ done: false, value: bytesOf(++asked) }) }),
    };
    const ctx = testContext('fromIterable');
    const reader = fromIterable(counting, { format: anyBytes }).open(ctx).getReader();
    await settleTurns(5);
    expect(asked).toBe(0);
    for (let i = 1; i <= 4; i++) {
      expect((await reader.read()).value!.byteLength).toBe(i);
      await settleTurns(2);
      expect(asked).toBe(i);
    }
    await reader.cancel();
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('property: an abort at any point runs the generator’s finally block and ends the run as aborted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.boolean(), async (abortAfter, asAsync) => {
        const controller = new AbortController();
        let cleaned = 0;
        let yielded = 0;
        function* sync() {
          try {
            for (;;) {
              if (yielded++ === abortAfter) controller.abort();
              yield bytesOf(10);
            }
          } finally {
            cleaned++;
          }
        }
        async function* slow() {
          try {
            for (;;) {
              await new Promise((resolve) => setTimeout(resolve, 0));
              if (yielded++ === abortAfter) controller.abort();
              yield bytesOf(10);
            }
          } finally {
            cleaned++;
          }
        }
        const run = pipeline({ signal: controller.signal }, fromIterable(asAsync ? slow() : sync(), { format: anyBytes }), collect({ kind: 'bytes' }));
        expect((await run.done).outcome).toBe('aborted');
        await settleTurns(2);
        expect(cleaned).toBe(1);
      }),
      { numRuns: 20 },
    );
  });

  it('ends an aborted run even when the iterator is stuck forever', async () => {
    let cleaned = false;
    async function* stuck() {
      try {
        yield bytesOf(1);
        await new Promise(() => {});
      } finally {
        cleaned = true;
      }
    }
    const run = pipeline(fromIterable(stuck(), { format: anyBytes }), collect({ kind: 'bytes' }));
    await run.events.once('first-byte');
    await settleTurns(2);
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
    expect(cleaned).toBe(false); // it cannot run: the generator never comes back; but nothing waited for it
  });

  it('stops the iterator when its stream is read directly and the signal aborts', async () => {
    let cleaned = false;
    function* endless() {
      try {
        for (;;) yield 'x';
      } finally {
        cleaned = true;
      }
    }
    const ctx = testContext('fromIterable');
    const reader = fromIterable(endless(), { format: text }).open(ctx).getReader();
    await reader.read();
    ctx.controller.abort(new VoxpipeError('aborted', 'stop'));
    await expect(reader.read()).rejects.toMatchObject({ code: 'aborted' });
    expect(cleaned).toBe(true);
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('fails with a typed error on an item of the wrong kind, and lets the generator clean up', async () => {
    let cleaned = false;
    function* mixed(): Generator<unknown> {
      try {
        yield bytesOf(2);
        yield 'not bytes';
      } finally {
        cleaned = true;
      }
    }
    const failed = await pipeline(fromIterable(mixed() as Iterable<Uint8Array>, { format: anyBytes }), collect({ kind: 'bytes' })).done.catch((e) => e);
    expect(failed).toBeInstanceOf(VoxpipeError);
    expect(failed).toMatchObject({ code: 'format', stage: 'fromIterable' });
    expect(failed.message).toMatch(/string/);
    expect(cleaned).toBe(true);

    const badPcm = await pipeline(fromIterable([{ sampleRate: 8000, channels: [] }] as PcmChunk[], { format: anyPcm }), collect()).done.catch((e) => e);
    expect(badPcm).toMatchObject({ code: 'format' });
  });

  it('passes on an iterator’s own error as a VoxpipeError', async () => {
    async function* broken() {
      yield 'a';
      throw new Error('socket closed');
    }
    const failed = await pipeline(fromIterable(broken(), { format: text }), collect({ kind: 'text' })).done.catch((e) => e);
    expect(failed).toBeInstanceOf(VoxpipeError);
    expect(failed.message).toBe('socket closed');
  });

  it('rejects what is not an iterable, and a bad format', () => {
    expect(() => fromIterable(42 as never, { format: anyBytes })).toThrow(/iterable/);
    expect(() => fromIterable([], { format: { kind: 'audio' } as never })).toThrow(/fromIterable.*format\.kind/);
    expect(() => fromIterable([], {} as never)).toThrow(/fromIterable.*format/);
  });
});
