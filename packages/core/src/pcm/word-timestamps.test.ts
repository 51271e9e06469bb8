import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WordTimestamps, type TimedWord } from './word-timestamps.js';

/** Words at random times in order (some sharing a start), each its own piece of a text. */
const timedWords = fc
  .array(fc.integer({ min: 0, max: 2_000_000 }), { maxLength: 30 })
  .map((micros) => [...micros].sort((a, b) => a - b).map((us, i): TimedWord => ({ text: `w${i}`, start: us / 1e6, end: us / 1e6 + 0.1, charStart: 3 * i, charEnd: 3 * i + 2 })));

describe('WordTimestamps', () => {
  it('puts each word once on frame round(start × rate) + delay, however the frames are cut and however the words are resent around a resume', () => {
    fc.assert(
      fc.property(
        timedWords,
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
        fc.constantFrom(0, 1105),
        fc.constantFrom(8000, 24000, 44100),
        (words, sizes, resends, delay, rate) => {
          const timeline = new WordTimestamps();
          timeline.delay = delay;
          timeline.add(words);
          // a resumed stream sends again a run of the words around where it resumed: each is taken once
          for (const [a, b] of resends) timeline.add(words.slice(Math.min(a, b) % (words.length + 1), Math.max(a, b) % (words.length + 1)));
          const landed: Array<[string, number]> = [];
          const total = 2 * 44100 + 1105 + 1;
          for (let position = 0, i = 0; position < total; i++) {
            const frames = Math.min(sizes[i % sizes.length], total - position);
            for (const mark of timeline.marksFor(position, frames, rate) ?? []) {
              expect(mark.frame).toBeGreaterThanOrEqual(0);
              expect(mark.frame).toBeLessThan(frames);
              landed.push([mark.text, position + mark.frame]);
            }
            position += frames;
          }
          expect(landed).toEqual(words.map((w) => [w.text, Math.round(w.start * rate) + delay]));
          expect(timeline.pending).toBe(0);
          expect(timeline.late).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts a word that comes after its frames were given and puts it on the next frame to come', () => {
    const timeline = new WordTimestamps();
    expect(timeline.marksFor(0, 100, 1000)).toBeUndefined();
    timeline.add([{ text: 'late', start: 0.05, end: 0.2, charStart: 0, charEnd: 4, written: 'late words' }]);
    expect(timeline.marksFor(100, 100, 1000)).toEqual([{ frame: 0, duration: 0.2 - 0.05, text: 'late', charStart: 0, charEnd: 4, written: 'late words' }]);
    expect(timeline.late).toBe(1);
  });
});
