// The bound on a text's audio is never below what the engine really makes, for any mix of characters.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAudioMs } from './audio-bound.js';
import { createEspeakEngine } from './engine.js';
import type { EspeakEngine } from './engine-types.js';
import { readAll } from './test-helpers.js';

let engine: EspeakEngine;
beforeAll(async () => {
  engine = await createEspeakEngine({ workers: 2 });
});
afterAll(async () => {
  await engine?.close();
});

/** Pieces of text that take long to say for their length: spelled letters, long numbers, symbols, emoji, CJK, pauses. */
const piece = fc.oneof(
  fc.constantFrom('w', 'x', 'W', 'Q', 'y', 'h', 'é', 'ß', 'Ж', 'ω', 'ﬁ', 'ﷺ', 'ﷻ', '㍿', '㎑', '½'),
  fc.constantFrom('1', '7', '1234567890', '9999999', '3.14159', '1,000,000', '$', '€', '%', '&', '#', '@', '{', '}', '\\', '~', '^', '|'),
  fc.constantFrom(' ', '  ', '\n', '\n\n', '. ', '? ', '! ', '... ', ', ', '; ', ' - '),
  fc.constantFrom('😀', '🎉', '🚀', '👍🏽', '🇩🇪', '你', '好', '世界', 'こんにちは', '한국어', 'ﷺ', '∑', '√', '∞'),
  fc.constantFrom('Hello', 'world', 'Mr.', 'Dr.', 'St.', 'etc.', 'i.e.', 'https://example.com/a?b=c', 'XVIII', 'MCMXCIV'),
);
const texts = fc.array(piece, { minLength: 1, maxLength: 30 }).map((parts) => parts.join('')).filter((text) => text.trim() !== '');

describe('maxAudioMs', () => {
  it('is never below the audio the engine makes, at any speed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(texts, fc.constantFrom(0.5, 0.75, 1, 1.5, 2), fc.constantFrom('en-us', 'de', 'fr+f3'), async (text, speed, voice) => {
        const heard = await readAll(engine.synthesize({ text, voice, speed }));
        expect(heard.seconds * 1000).toBeLessThanOrEqual(maxAudioMs({ text, speed }));
      }),
      { numRuns: 150 },
    );
  });

  it('is within a small multiple of prose, so a range far past the end is refused without synthesis', async () => {
    const text = 'Streaming speech lets a listener hear the start of an answer while the rest is still being made. '.repeat(5);
    const heard = await readAll(engine.synthesize({ text, voice: 'en-us' }));
    const ratio = maxAudioMs({ text }) / (heard.seconds * 1000);
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(12);
  });
});
