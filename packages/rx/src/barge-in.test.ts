import fc from 'fast-check';
import { lastValueFrom, Subject, tap, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bargeIn } from './barge-in.js';
import { fakeSay, RATE, samplesOf } from './fake-say.js';
import { ReadableStream, type PcmChunk } from '@voxpipe/core';
import { spokenWords } from '@voxpipe/core/testing';
import type { Say, UtteranceEvent } from './utterance.js';

const FIRST = 'the first answer, which is long enough to be cut short part-way through';
const SECOND = 'sorry, yes?';

/** A Say whose audio is stand-in speech with word marks (core's spokenWords), a chunk per macrotask. */
function wordsSay(chunkFrames: number): Say<string> {
  return (utterance, signal) => {
    const { chunks } = spokenWords(utterance, { chunkFrames, msPerChar: 20, gapMs: 10 });
    let i = 0;
    return new ReadableStream<PcmChunk>(
      {
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (signal.aborted) return controller.error(signal.reason);
          if (i >= chunks.length) return controller.close();
          controller.enqueue(chunks[i++]);
        },
      },
      { highWaterMark: 0 },
    );
  };
}

describe('bargeIn', () => {
  it('reports what was heard of a cut utterance: its words that ended within the audio given, as a prefix of its text', async () => {
    const ends = new Set([0, ...[...FIRST.matchAll(/\S+/g)].map((m) => m.index + m[0].length)]);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 100, max: 2000 }), fc.integer({ min: 1, max: 30 }), async (cutAfter, chunkFrames, fadeMs) => {
        const { words } = spokenWords(FIRST, { chunkFrames, msPerChar: 20, gapMs: 10 });
        const texts = new Subject<string>();
        let audioOfFirst = 0;
        const all = lastValueFrom(
          texts.pipe(
            bargeIn(wordsSay(chunkFrames), { fadeMs }),
            tap((e) => {
              if ((e.type === 'audio' && e.id === 0 && ++audioOfFirst === cutAfter) || (e.type === 'end' && e.id === 0)) {
                texts.next(SECOND);
                texts.complete();
              }
            }),
            toArray(),
          ),
        );
        texts.next(FIRST);
        const events = await all;
        const end = events.find((e) => e.id === 0 && (e.type === 'end' || e.type === 'interrupted'));
        if (end?.type !== 'interrupted' && end?.type !== 'end') throw new Error('no ending');
        const finished = words.filter((w) => w.at + w.frames <= end.playedSamples);
        if (end.type === 'end') expect(end.heard).toMatchObject({ text: FIRST, words: words.length, charEnd: FIRST.length });
        else {
          expect(end.heard.words).toBe(finished.length);
          expect(ends.has(end.heard.charEnd)).toBe(true);
          expect(end.heard.text).toBe(FIRST.slice(0, end.heard.charEnd));
          expect(end.heard.ms).toBeCloseTo(end.playedMs, 6);
        }
        const second = events.find((e) => e.id === 1 && e.type === 'end');
        expect(second).toMatchObject({ type: 'end', heard: { text: SECOND, words: SECOND.split(' ').length } });
      }),
      { numRuns: 40 },
    );
  });


  it('fades the current utterance out within fadeMs, aborts its request, reports the played position, then says the new one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 30, max: 400 }), fc.integer({ min: 1, max: 20 }), async (cutAfter, chunkFrames, fadeMs) => {
        const { say, calls } = fakeSay(chunkFrames);
        const texts = new Subject<string>();
        let audioOfFirst = 0;
        const all = lastValueFrom(
          texts.pipe(
            bargeIn(say, { fadeMs }),
            tap((e) => {
              const cut = e.type === 'audio' && e.id === 0 && ++audioOfFirst === cutAfter;
              if (cut || (e.type === 'end' && e.id === 0)) {
                texts.next(SECOND);
                texts.complete();
              }
            }),
            toArray(),
          ),
        );
        texts.next(FIRST);
        const events = await all;
        const fadeFrames = Math.round((fadeMs * RATE) / 1000);
        const first = events.filter((e): e is Extract<UtteranceEvent, { type: 'audio' }> => e.type === 'audio' && e.id === 0);
        const firstSamples = Float32Array.from(first.flatMap((e) => [...e.chunk.channels[0]]));
        const whole = samplesOf(FIRST);
        const end = events.find((e) => e.id === 0 && (e.type === 'end' || e.type === 'interrupted'))!;
        const chunksOfFirst = Math.ceil(whole.length / chunkFrames);
        if (chunksOfFirst < cutAfter) {
          expect(end.type).toBe('end'); // it was over before the interruption came
        } else if (chunksOfFirst === cutAfter && end.type === 'end') {
          // The interruption came with its last chunk, after its end was known.
          expect(end.playedSamples).toBe(whole.length);
        } else {
          expect(end).toMatchObject({ type: 'interrupted', by: 1, interruptedAt: Math.min(whole.length, cutAfter * chunkFrames) });
          if (end.type !== 'interrupted') return;
          // The cut comes within one fade, ramped down to silence, without a jump.
          expect(end.playedSamples - end.interruptedAt).toBeLessThanOrEqual(fadeFrames);
          expect(end.playedSamples).toBe(firstSamples.length);
          expect(end.playedMs).toBeCloseTo((end.playedSamples * 1000) / RATE, 6);
          expect(firstSamples.subarray(0, end.interruptedAt)).toEqual(whole.subarray(0, end.interruptedAt));
          // Ramped to silence, unless its audio ran out inside the fade.
          if (end.playedSamples < whole.length) expect(firstSamples.at(-1)).toBe(0);
          for (let i = end.interruptedAt; i < firstSamples.length; i++) expect(Math.abs(firstSamples[i])).toBeLessThanOrEqual(Math.abs(whole[i]));
          expect(calls[0].signal.aborted).toBe(true);
          if (end.playedSamples < whole.length) expect(calls[0].finished).toBe(false);
        }
        // Then the new one, whole, and nothing of the old one after it starts.
        const startOfSecond = events.findIndex((e) => e.type === 'start' && e.id === 1);
        expect(events.indexOf(end)).toBeLessThan(startOfSecond);
        const second = events.slice(startOfSecond).filter((e) => e.type === 'audio');
        expect(second.every((e) => e.id === 1)).toBe(true);
        expect(Float32Array.from(second.flatMap((e) => (e.type === 'audio' ? [...e.chunk.channels[0]] : [])))).toEqual(samplesOf(SECOND));
        expect(events.at(-1)).toMatchObject({ type: 'end', id: 1 });
      }),
      { numRuns: 60 },
    );
  });

  it('an utterance replaced before it began ends as interrupted, with no start and its request aborted', async () => {
    const { say, calls } = fakeSay(50);
    const texts = new Subject<string>();
    const all = lastValueFrom(texts.pipe(bargeIn(say), toArray()));
    texts.next('one');
    texts.next('two');
    texts.next('three');
    texts.complete();
    const events = await all;
    const summary = events.filter((e) => e.type !== 'audio').map((e) => `${e.type}${e.id}`);
    // 'one' began at once (nothing played yet); 'two' never began.
    expect(summary.slice(0, 3).sort()).toEqual(['interrupted0', 'interrupted1', 'start0']);
    expect(summary.slice(3)).toEqual(['start2', 'end2']);
    expect(events.find((e) => e.type === 'interrupted' && e.id === 1)).toMatchObject({ by: 2, playedSamples: 0 });
    expect(events.find((e) => e.type === 'interrupted' && e.id === 0)).toMatchObject({ by: 1, playedSamples: 0 });
    expect(calls.map((c) => c.signal.aborted)).toEqual([true, true, false]);
  });

  it('unsubscribing aborts the current and the waiting requests', async () => {
    const { say, calls } = fakeSay(10);
    const texts = new Subject<string>();
    const subscription = texts.pipe(bargeIn(say)).subscribe();
    texts.next('a long utterance to say');
    await new Promise((r) => setTimeout(r, 5));
    subscription.unsubscribe();
    expect(calls[0].signal.aborted).toBe(true);
  });

  it('passes on the error of a failing request', async () => {
    const texts = new Subject<string>();
    const all = lastValueFrom(texts.pipe(bargeIn(() => new ReadableStream({ start: (c) => c.error(new Error('refused')) }))));
    texts.next('x');
    await expect(all).rejects.toThrow('refused');
  });
});
