import { pcmDurationMs, type PcmChunk } from '@voxpipe/core';
import fc from 'fast-check';
import { Observable, Subject, from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { toReadable } from './to-readable.js';

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

describe('toReadable', () => {
  it('gives every value in order, however the pushes and reads interleave', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 60 }), fc.array(fc.boolean(), { maxLength: 120 }), async (items, schedule) => {
        const subject = new Subject<number>();
        const reader = toReadable(subject, { limit: 1000 }).getReader();
        const out: number[] = [];
        let next = 0;
        for (const push of schedule) {
          if (push && next < items.length) subject.next(items[next++]);
          else if (out.length < next) out.push((await reader.read()).value!);
        }
        while (next < items.length) subject.next(items[next++]);
        subject.complete();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          out.push(value);
        }
        expect(out).toEqual(items);
      }),
      { numRuns: 60 },
    );
  });

  it('never buffers more than the limit: fails clearly by default, or drops the oldest or the newest', async () => {
    const flood = () => from(Array.from({ length: 20 }, (_, i) => i));
    await expect(readAll(toReadable(flood(), { limit: 5 }))).rejects.toMatchObject({ code: 'internal', message: /more than 5 waiting unread/ });
    const dropped: number[] = [];
    expect(await readAll(toReadable(flood(), { limit: 5, overflow: 'drop-oldest', onDrop: (x) => dropped.push(x) }))).toEqual([15, 16, 17, 18, 19]);
    expect(dropped).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(await readAll(toReadable(flood(), { limit: 5, overflow: 'drop-newest' }))).toEqual([0, 1, 2, 3, 4]);
  });

  it('measures the limit with `size`, e.g. milliseconds of audio', async () => {
    const chunk = (ms: number): PcmChunk => ({ sampleRate: 1000, channels: [new Float32Array(ms)] });
    const out = await readAll(toReadable(from([chunk(40), chunk(40), chunk(40)]), { size: pcmDurationMs, limit: 100, overflow: 'drop-oldest' }));
    expect(out.map(pcmDurationMs)).toEqual([40, 40]);
  });

  it('unsubscribes when cancelled, and passes errors on', async () => {
    let unsubscribed = false;
    const endless = new Observable<number>((s) => {
      s.next(1);
      return () => (unsubscribed = true);
    });
    const stream = toReadable(endless);
    const reader = stream.getReader();
    expect((await reader.read()).value).toBe(1);
    await reader.cancel();
    expect(unsubscribed).toBe(true);
    const failing = new Observable<number>((s) => s.error(new Error('boom')));
    await expect(readAll(toReadable(failing))).rejects.toThrow('boom');
  });
});
