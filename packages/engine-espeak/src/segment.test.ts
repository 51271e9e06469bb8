import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locateSentence } from '@voxpipe/core';
import { DIGIT_WEIGHT, OPENING_CHARS, openingSegments, segmentWeight, splitSegments } from './segment.js';

const normalise = (text: string) => text.replace(/\s+/gu, ' ').trim();

const wordy = fc
  .array(
    fc.oneof(
      fc.constantFrom('Hello', 'world', 'the', 'Mr.', 'quick', 'x', 'año', 'naïve', '😀', 'réalité'),
      fc.constantFrom('.', ',', '!', '?', ';', ':', '…', ' — ', '"', ')'),
      fc.constantFrom(' ', '  ', '\n', '\n\n', '\t'),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 80 },
  )
  .map((parts) => parts.join(''));

describe('splitSegments', () => {
  it('keeps every character in order, drops only whitespace, and respects the limit', () => {
    fc.assert(
      fc.property(wordy, fc.integer({ min: 1, max: 60 }), (text, max) => {
        const segments = splitSegments(text, max);
        for (const segment of segments) {
          expect(segment.length).toBeGreaterThan(0);
          // over the limit only when the piece is one character that alone weighs more
          if (segmentWeight(segment) > max) expect(Array.from(segment)).toHaveLength(1);
          expect(segment).toBe(segment.trim());
        }
        expect(segments.join('').replace(/\s/gu, '')).toBe(text.replace(/\s/gu, ''));
      }),
      { numRuns: 300 },
    );
  });

  it('cuts only at spaces when no word is longer than the limit', () => {
    fc.assert(
      fc.property(wordy, fc.integer({ min: 20, max: 80 }), (text, max) => {
        fc.pre(normalise(text).split(' ').every((word) => segmentWeight(word) <= max));
        expect(splitSegments(text, max).join(' ')).toBe(normalise(text));
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(wordy, fc.integer({ min: 1, max: 60 }), (text, max) => {
        expect(splitSegments(text, max)).toEqual(splitSegments(text, max));
      }),
      { numRuns: 100 },
    );
  });

  it('prefers sentence, then clause, then word boundaries', () => {
    expect(splitSegments('One. Two, three.', 8)).toEqual(['One.', 'Two,', 'three.']);
    expect(splitSegments('First sentence here. Second one!', 25)).toEqual(['First sentence here.', 'Second one!']);
    expect(splitSegments('Short. Also short. Packed together.', 100)).toEqual(['Short. Also short. Packed together.']);
    expect(splitSegments('alpha beta, gamma delta epsilon zeta', 20)).toEqual(['alpha beta,', 'gamma delta epsilon', 'zeta']);
    expect(splitSegments('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(splitSegments('  \n ')).toEqual([]);
  });

  it('weighs digits by how long they take to say', () => {
    expect(segmentWeight('ab 12')).toBe(3 + 2 * DIGIT_WEIGHT);
    const numbers = Array.from({ length: 40 }, (_, i) => String(1000 + i)).join(' ');
    const segments = splitSegments(numbers, 60);
    for (const segment of segments) expect(segmentWeight(segment)).toBeLessThanOrEqual(60);
    expect(segments.join(' ')).toBe(numbers);
    expect(splitSegments('1234567', 12)).toEqual(['12', '34', '56', '7']);
  });

  it('never splits a surrogate pair', () => {
    const segments = splitSegments('😀😀😀😀😀', 3);
    for (const segment of segments) expect(segment).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/u);
    expect(segments.join('')).toBe('😀😀😀😀😀');
  });

  it('rejects a bad limit', () => {
    expect(() => splitSegments('a', 0)).toThrow(RangeError);
  });
});

describe('openingSegments', () => {
  it('keeps every character in order, cuts only at spaces, and holds each opening limit, then maxChars', () => {
    fc.assert(
      fc.property(wordy, fc.array(fc.integer({ min: 20, max: 80 }), { maxLength: 4 }), fc.integer({ min: 40, max: 120 }), (text, opening, max) => {
        fc.pre(normalise(text).split(' ').every((word) => segmentWeight(word) <= Math.min(max, ...opening)));
        const segments = openingSegments(text, max, opening);
        expect(segments.join(' ')).toBe(normalise(text));
        segments.forEach((segment, i) => expect(segmentWeight(segment)).toBeLessThanOrEqual(Math.min(max, opening[i] ?? max)));
        expect(openingSegments(text, max, opening)).toEqual(segments);
      }),
      { numRuns: 500 },
    );
  });

  it('starts short and grows; a text that fits its first limit stays whole', () => {
    const text = 'Streaming speech lets a listener hear the start of an answer while the rest is still being made. Every client here plays its audio in real time.';
    const segments = openingSegments(text);
    expect(segments.length).toBeGreaterThan(2);
    segments.slice(0, OPENING_CHARS.length).forEach((segment, i) => expect(segmentWeight(segment)).toBeLessThanOrEqual(OPENING_CHARS[i]));
    expect(openingSegments('Yes, we can.')).toEqual(['Yes, we can.']);
    expect(openingSegments('Hi. How are you today, my friend?', 200, [10])).toEqual(['Hi.', 'How are you today, my friend?']);
  });
});

describe('locateSentence of the segments', () => {
  it('finds every character of every segment (cut words included) where it is in the text, in order (property)', () => {
    fc.assert(
      fc.property(wordy, fc.integer({ min: 20, max: 80 }), (text, max) => {
        const segments = openingSegments(text, max, [3, 7, 12]);
        let cursor = 0;
        const maps = segments.map((segment) => {
          const { at, end } = locateSentence(text, cursor, segment);
          cursor = end;
          return at;
        });
        const origin = (s: number, j: number) => maps[s][j];
        let last = -1;
        segments.forEach((segment, s) => {
          for (let j = 0; j < segment.length; j++) {
            const at = origin(s, j);
            // A space stands for whitespace there, or for a cut inside a word (then it sits on the next character).
            if (segment[j] !== ' ') expect(text[at]).toBe(segment[j]);
            expect(at).toBeGreaterThanOrEqual(segment[j] === ' ' ? last : last + 1);
            last = segment[j] === ' ' ? at - 1 : at;
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
