import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { text as textFormat } from '../format.js';
import { runTransform } from '../testing/harness.js';
import { sentences, splitSentences } from './sentences.js';
import { locateSentence, originalSpan, SpeechNormalizer, type SpeechText } from './speech-text.js';

const say = (...lines: string[]) => {
  const normalizer = new SpeechNormalizer();
  return lines.map((line) => normalizer.next(line).text);
};

/** Pieces of Markdown-ish LLM answers, joined at random. */
const PIECES = [
  'Hello', 'world', 'it', 'is', 'done', '3.14', 'naïve', '.', '!', '?', ',', ' ', ' ', ' ', '\n', '\n\n',
  '# ', '## ', '> ', '- ', '* ', '1. ', '[ ] ', '**', '*', '_', '__', '~~', '`', '```', '```ts\n', '---',
  '[the docs](https://x.dev/a_b?c=1)', '![a cat](cat.png)', 'https://www.example.com/path.', 'www.voxpipe.dev',
  'jane.doe@example.org', 'snake_case', '2 * 3', '👍', '👍🏽', '👨‍👩‍👧', '🇩🇪', '1️⃣', 'é', '(see)', '[x]', ']',
];
const arbitraryAnswer = fc.array(fc.constantFrom(...PIECES), { maxLength: 50 }).map((p) => p.join(''));

/** Checks a SpeechText's map against its source: in order, within bounds. */
function expectWellMapped(speech: SpeechText, source: string) {
  expect(speech.from.length).toBe(speech.text.length);
  expect(speech.to.length).toBe(speech.text.length);
  for (let i = 0; i < speech.text.length; i++) {
    expect(speech.from[i]).toBeGreaterThanOrEqual(0);
    expect(speech.to[i]).toBeGreaterThan(speech.from[i]);
    expect(speech.to[i]).toBeLessThanOrEqual(source.length);
    if (i > 0) {
      expect(speech.from[i]).toBeGreaterThanOrEqual(speech.from[i - 1]);
      expect(speech.to[i]).toBeGreaterThanOrEqual(speech.to[i - 1]);
    }
  }
}

describe('SpeechNormalizer', () => {
  it('says Markdown as prose: headings, quotes, lists, emphasis, code and links', () => {
    expect(say('# Getting started', '> **Note:** read _this_ first.', '- item one', '2. item two', '[ ] a task')).toEqual([
      'Getting started',
      'Note: read this first.',
      'item one',
      'item two',
      'a task',
    ]);
    expect(say('Read [the docs](https://x.dev/a_(b)) and ![a cat](cat.png "Cat").')).toEqual(['Read the docs and a cat.']);
    expect(say('Use `npm install` ~~now~~ today; snake_case stays, 2 * 3 too.')).toEqual(['Use npm install now today; snake_case stays, 2 * 3 too.']);
    expect(say('Here:', '```ts', 'const x = 1;', '```', 'Done.', '---', '```one line```', 'After.')).toEqual(['Here:', '', '', '', 'Done.', '', '', 'After.']);
  });

  it('says URLs as their host, e-mail addresses in words, and drops emoji', () => {
    expect(say('See https://www.example.com/a/b?c=1. Or www.voxpipe.dev!')).toEqual(['See example dot com. Or voxpipe dot dev!']);
    expect(say('Write to jane.doe@mail.example.org 👍🏽 👨‍👩‍👧 🇩🇪 today 🎉')).toEqual(['Write to jane.doe at mail dot example dot org today']);
  });

  it('maps each spoken character back to what it came from: in order, within the sentence, letters onto themselves', () => {
    fc.assert(
      fc.property(arbitraryAnswer, (answer) => {
        const normalizer = new SpeechNormalizer();
        for (const sentence of splitSentences(answer)) {
          const speech = normalizer.next(sentence);
          expectWellMapped(speech, sentence);
          expect(speech.text).toBe(speech.text.trim());
          expect(speech.text).not.toMatch(/\s\s|\*\*|\S\*|\*\S|[`[\]]|\p{Extended_Pictographic}/u);
          for (let i = 0; i < speech.text.length; i++) {
            // A character said as written (not a word said for a URL or "@") is the one it maps to.
            if (speech.to[i] - speech.from[i] === 1 && /\S/.test(speech.text[i])) expect(sentence[speech.from[i]]).toBe(speech.text[i]);
          }
          const all = originalSpan(speech, 0, speech.text.length);
          expect(all.start).toBeGreaterThanOrEqual(0);
          expect(all.end).toBeLessThanOrEqual(sentence.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('normalizing the streamed answer sentence by sentence gives what the whole answer gives, however it was split into tokens', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryAnswer.chain((answer) => fc.tuple(fc.constant(answer), fc.array(fc.integer({ min: 0, max: answer.length }), { maxLength: 20 }))), async ([answer, cuts]) => {
        const points = [...new Set([0, ...cuts, answer.length])].sort((a, b) => a - b);
        const tokens = points.slice(1).map((end, k) => answer.slice(points[k], end)).filter(Boolean);
        const streamed = (await runTransform(sentences(), tokens, textFormat)) as string[];
        const whole = splitSentences(answer);
        expect(streamed).toEqual(whole);
        const [a, b] = [new SpeechNormalizer(), new SpeechNormalizer()];
        let cursor = 0;
        for (let k = 0; k < whole.length; k++) {
          const [x, y] = [a.next(streamed[k]), b.next(whole[k])];
          expect(x.text).toBe(y.text);
          expect([...x.from]).toEqual([...y.from]);
          // Mapped onto the whole answer, a spoken span lands on the answer's own characters.
          const { at, end } = locateSentence(answer, cursor, whole[k]);
          expect(end).toBeGreaterThanOrEqual(cursor);
          expect(end).toBeLessThanOrEqual(answer.length);
          for (let i = 0; i < whole[k].length; i++) {
            if (/\S/.test(whole[k][i])) expect(answer[at[i]]).toBe(whole[k][i]);
            if (i > 0) expect(at[i]).toBeGreaterThan(at[i - 1]);
          }
          cursor = end;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('originalSpan moves forward with the spoken span and stays within the original', () => {
    fc.assert(
      fc.property(arbitraryAnswer, fc.nat(), fc.nat(), fc.nat(), (answer, p, q, r) => {
        const line = answer.replace(/\s+/g, ' ').trim();
        const speech = new SpeechNormalizer().next(line);
        const n = speech.text.length;
        if (n === 0) return;
        const start0 = p % n;
        const start1 = start0 + (q % (n - start0));
        const end0 = start0 + 1 + (r % (n - start0));
        const first = originalSpan(speech, start0, end0);
        const later = originalSpan(speech, start1, Math.max(end0, start1 + 1));
        expect(first.start).toBeLessThanOrEqual(later.start);
        expect(first.end).toBeLessThanOrEqual(later.end);
        expect(first.start).toBeLessThan(first.end);
        expect(later.end).toBeLessThanOrEqual(line.length);
      }),
    );
  });
});
