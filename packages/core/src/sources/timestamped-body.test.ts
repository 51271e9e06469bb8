import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { testContext } from '../testing/harness.js';
import { cutBytes } from '../testing/arbitraries.js';
import { ReadableStream } from '../streams.js';
import { timestampedBody } from './timestamped-body.js';

const TEXT = 'Hello there, world.';

/** The bytes as a body, cut at the given points. */
function body(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const parts = cutBytes(bytes, cuts);
  return new ReadableStream<Uint8Array>({
    pull(c) {
      const next = parts.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
  });
}

async function read(bytes: Uint8Array, cuts: number[] = []) {
  const ctx = testContext('ttsSource');
  const reader = timestampedBody(body(bytes, cuts), ctx, { textLength: TEXT.length, written: TEXT }).getReader();
  const audio: number[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      audio.push(...value);
    }
    return { audio, error: undefined, words: ctx.words };
  } catch (error) {
    return { audio, error, words: ctx.words };
  }
}

const encode = (text: string) => new TextEncoder().encode(text);

describe('timestampedBody', () => {
  it('gives the audio of its lines and the words to the run, however the body is cut (inside a UTF-8 character too)', async () => {
    const lines = [
      JSON.stringify({ words: [{ text: 'Hello', start: 0, end: 0.3, charStart: 0, charEnd: 5 }] }),
      JSON.stringify({ audio: btoa(String.fromCharCode(1, 2, 3, 250)) }),
      '',
      JSON.stringify({ words: [{ text: 'world.', start: 0.6, end: 0.9, charStart: 13, charEnd: 19 }], note: 'é€😀' }),
      JSON.stringify({ audio: btoa(String.fromCharCode(4, 5)) }),
    ];
    const bytes = encode(`${lines.join('\n')}\n`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 20 }), async (cuts) => {
        const { audio, error, words } = await read(bytes, cuts);
        expect(error).toBeUndefined();
        expect(audio).toEqual([1, 2, 3, 250, 4, 5]);
        expect(words.marksFor(0, 24000, 24000)?.map((m) => [m.text, m.frame, m.written])).toEqual([
          ['Hello', 0, TEXT],
          ['world.', 14400, TEXT],
        ]);
      }),
      { numRuns: 100 },
    );
  });

  it('any bytes at all end the stream or fail it with a typed error, never hang (decode for a bad line, network for a cut one)', async () => {
    const line = fc.oneof(
      fc.string(),
      fc.json(),
      fc.constantFrom('{"audio":"AAAA"}', '{"words":[]}', '{"audio":"A"}', '{"words":[{"text":"x","start":0,"end":1,"charStart":0,"charEnd":99}]}'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 6 }), fc.boolean(), fc.uint8Array({ maxLength: 8 }), async (lines, newline, junk) => {
        const text = lines.join('\n') + (newline ? '\n' : '');
        const bytes = new Uint8Array([...encode(text), ...(junk.length > 0 && !newline ? junk : [])]);
        const { error } = await read(bytes, [3, 7]);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(VoxpipeError);
          expect(['decode', 'network']).toContain((error as VoxpipeError).code);
        }
      }),
      { numRuns: 300 },
    );
  });
});
