import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WordMark } from '../pcm/pcm.js';
import { WordTimeline } from './heard.js';

const RATE = 24000;

/** A text of words and separators, its marks laid out along the audio, and the audio cut into chunks. */
const arbitrarySpeech = fc
  .record({
    words: fc.array(fc.record({ word: fc.constantFrom('Hello', 'world', 'it’s', '3.14', 'naïve', '👍', 'z.B.', 'a'), gap: fc.constantFrom(' ', ', ', '. ', ' — ', '\n'), frames: fc.integer({ min: 1, max: 4000 }), pause: fc.integer({ min: 0, max: 800 }) }), { maxLength: 30 }),
    lead: fc.constantFrom('', '# ', '  '),
    cuts: fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 20 }),
    written: fc.boolean(),
  })
  .map(({ words, lead, cuts, written }) => {
    let text = lead;
    let frame = 0;
    const placed: Array<{ at: number; mark: Omit<WordMark, 'frame'> }> = [];
    for (const w of words) {
      frame += w.pause;
      const charStart = text.length;
      text += w.word;
      placed.push({ at: frame, mark: { text: w.word, charStart, charEnd: text.length, duration: w.frames / RATE } });
      frame += w.frames;
      text += w.gap;
    }
    const total = frame;
    const points = [...new Set([0, ...cuts.map((c) => c % (total + 1)), total])].sort((a, b) => a - b);
    const chunks: Array<{ start: number; marks: WordMark[] }> = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [start, end] = [points[i], points[i + 1]];
      const marks = placed.filter((p) => p.at >= start && p.at < end).map((p) => ({ ...p.mark, frame: p.at - start, ...(written ? { written: text } : {}) }));
      chunks.push({ start, marks });
    }
    return { text, placed, total, chunks, written };
  });

function timeline(chunks: ReadonlyArray<{ start: number; marks: WordMark[] }>): WordTimeline {
  const words = new WordTimeline();
  for (const chunk of chunks) words.add(chunk.marks, chunk.start / RATE, RATE);
  return words;
}

describe('WordTimeline', () => {
  it('heard text is a prefix of the written text that ends at the end of the last word finished, however the audio was chunked', () => {
    fc.assert(
      fc.property(arbitrarySpeech, fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 8 }), ({ text, placed, total, chunks, written }, positions) => {
        const words = timeline(chunks);
        let before = { words: 0, charEnd: 0, text: '' };
        for (const p of positions.map((x) => x % (total + 1)).sort((a, b) => a - b)) {
          const heard = words.heard(p / RATE);
          const finished = placed.filter((w) => w.at + w.mark.duration * RATE <= p + 1e-6);
          expect(heard.words).toBe(finished.length);
          expect(heard.ms).toBeCloseTo((p * 1000) / RATE, 6);
          const last = finished[finished.length - 1];
          expect(heard.charEnd).toBe(last ? last.mark.charEnd : 0);
          if (written) {
            expect(text.startsWith(heard.text)).toBe(true);
            expect(heard.text).toBe(text.slice(0, heard.charEnd));
          } else {
            expect(heard.text).toBe(finished.map((w) => w.mark.text).join(' '));
          }
          // It only grows.
          expect(heard.words).toBeGreaterThanOrEqual(before.words);
          expect(heard.text.startsWith(before.text)).toBe(true);
          before = heard;
        }
        expect(words.heardAll(0).words).toBe(placed.length);
      }),
    );
  });

  it('gives each word once, in order, when its first sample is reached, however often it is asked', () => {
    fc.assert(
      fc.property(arbitrarySpeech, fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 12 }), ({ placed, total, chunks }, positions) => {
        const words = timeline(chunks);
        const given: number[] = [];
        for (const p of [...positions.map((x) => x % (total + 1)).sort((a, b) => a - b), total]) {
          for (const word of words.started(p / RATE)) {
            expect(word.atMs).toBeLessThanOrEqual((p * 1000) / RATE + 1e-6);
            given.push(word.index);
          }
          const next = words.nextStart();
          if (next !== undefined) expect(next * RATE).toBeGreaterThan(p - 1e-6);
        }
        expect(given).toEqual(placed.map((_, i) => i));
        const first = timeline(chunks).started(total / RATE);
        expect(first.map((w) => [w.text, w.charStart, w.charEnd])).toEqual(placed.map((w) => [w.mark.text, w.mark.charStart, w.mark.charEnd]));
        first.forEach((w, i) => expect(w.atMs).toBeCloseTo((placed[i].at * 1000) / RATE, 6));
      }),
    );
  });

  it('keeps only the words still to start or finish', () => {
    const words = new WordTimeline();
    for (let i = 0; i < 10_000; i++) {
      words.add([{ frame: 0, duration: 0.1, text: 'la', charStart: 3 * i, charEnd: 3 * i + 2 }], i * 0.1, RATE);
      words.started(i * 0.1);
      words.heard(i * 0.1);
    }
    expect(words.count).toBe(10_000);
    expect(words.heard(1000).words).toBe(10_000);
    expect(words.nextStart()).toBeUndefined();
  });
});
