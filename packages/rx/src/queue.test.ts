import fc from 'fast-check';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fakeSay, samplesOf } from './fake-say.js';
import { queue } from './queue.js';
import { audioOnly } from './utterance.js';

const joined = (chunks: { channels: Float32Array[] }[]) => Float32Array.from(chunks.flatMap((c) => [...c.channels[0]]));

describe('queue', () => {
  it('says every utterance whole, in order, one after another', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 5 }), fc.integer({ min: 7, max: 300 }), async (texts, chunkFrames) => {
        const { say, calls } = fakeSay(chunkFrames);
        const events = await lastValueFrom(from(texts).pipe(queue(say), toArray()));
        const audio = events.filter((e) => e.type === 'audio');
        expect(joined(audio.map((e) => e.chunk))).toEqual(Float32Array.from(texts.flatMap((t) => [...samplesOf(t)])));
        expect(events.filter((e) => e.type !== 'audio').map((e) => `${e.type}${e.id}`)).toEqual(texts.flatMap((_, i) => [`start${i}`, `end${i}`]));
        for (const e of events) if (e.type === 'end') expect(e.playedSamples).toBe(samplesOf(texts[e.id]).length);
        expect(calls.map((c) => c.utterance)).toEqual(texts);
      }),
      { numRuns: 30 },
    );
  });

  it('aborts the utterance being said when unsubscribed', async () => {
    const { say, calls } = fakeSay(10);
    const chunks = await lastValueFrom(from(['a long utterance here', 'never said']).pipe(queue(say), audioOnly(), take(3), toArray()));
    expect(chunks).toHaveLength(3);
    expect(calls).toHaveLength(1);
    expect(calls[0].signal.aborted).toBe(true);
  });
});
