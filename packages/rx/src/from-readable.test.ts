import { ReadableStream, VoxpipeError } from '@voxpipe/core';
import fc from 'fast-check';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fromReadable } from './from-readable.js';

function streamOf<T>(items: T[], onCancel?: () => void): ReadableStream<T> {
  let i = 0;
  return new ReadableStream<T>({
    pull(controller) {
      if (i < items.length) controller.enqueue(items[i++]);
      else controller.close();
    },
    cancel: onCancel,
  });
}

describe('fromReadable', () => {
  it('gives every chunk in order, then completes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer()), async (items) => {
        expect(await lastValueFrom(fromReadable(streamOf(items)).pipe(toArray()))).toEqual(items);
      }),
      { numRuns: 50 },
    );
  });

  it('cancels the stream when unsubscribed early', async () => {
    let cancelled = false;
    const first = await firstValueFrom(fromReadable(streamOf([1, 2, 3, 4], () => (cancelled = true))).pipe(take(1)));
    expect(first).toBe(1);
    await new Promise((r) => setTimeout(r, 0));
    expect(cancelled).toBe(true);
  });

  it("passes the stream's error on, and a locked stream fails at subscribe", async () => {
    const failing = new ReadableStream<number>({
      start(c) {
        c.enqueue(1);
        c.error(new VoxpipeError('network', 'dropped'));
      },
    });
    await expect(lastValueFrom(fromReadable(failing))).rejects.toMatchObject({ code: 'network' });
    const locked = streamOf([1]);
    locked.getReader();
    await expect(lastValueFrom(fromReadable(locked))).rejects.toThrow(TypeError);
  });

  it('makes a fresh stream per subscription when given a function', async () => {
    const source = fromReadable(() => streamOf(['a', 'b']));
    expect(await lastValueFrom(source.pipe(toArray()))).toEqual(['a', 'b']);
    expect(await lastValueFrom(source.pipe(toArray()))).toEqual(['a', 'b']);
  });
});
