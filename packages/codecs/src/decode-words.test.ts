// Words the source learned (ctx.words) come out of decode() and the G.711
// decoders as marks on frame round(start × rate), for any chunking of the bytes.
import { anyBytes, pcmFrames, type Format, type TimedWord } from '@voxpipe/core';
import { bytePartitions, landedMarks, runTransform, testContext } from '@voxpipe/core/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { mulawDecode } from './g711-stages.js';
import { linearToMulaw } from './g711.js';
import { encodeMp3, encodeWav, sine } from './testing/fixtures.js';

const RATE = 24000;
const pcm = sine({ sampleRate: RATE, frames: RATE, frequency: 440 });
/** Words every 0.1 s or so, some on the very first and near the last sample. */
const words: TimedWord[] = [0, 0.00002, 0.1, 0.25, 0.251, 0.5, 0.777, 0.99995].map((start, i) => ({ text: `w${i}`, start, end: start + 0.05, charStart: 2 * i, charEnd: 2 * i + 1 }));
const expected = words.map((w) => Math.round(w.start * RATE));

const inputs: Record<string, { bytes: () => Uint8Array; format: Format; declared?: Format }> = {
  'raw PCM (declared)': { bytes: () => new Uint8Array(Int16Array.from(pcm.channels[0], (x) => Math.round(x * 32767)).buffer), format: anyBytes, declared: { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: RATE, channels: 1 } },
  WAV: { bytes: () => encodeWav(pcm), format: anyBytes },
  'µ-law': { bytes: () => Uint8Array.from(pcm.channels[0], (x) => linearToMulaw(Math.round(x * 32767))), format: anyBytes, declared: { kind: 'bytes', container: 'mulaw', sampleRate: RATE, channels: 1 } },
};
let mp3: Uint8Array;
beforeAll(async () => {
  mp3 = await encodeMp3(pcm);
});

async function decodedMarks(bytes: Uint8Array[], format: Format, declared: Format | undefined, stage = decode()) {
  const ctx = testContext(stage.name, declared);
  ctx.words.add(words);
  const out = await runTransform(stage, bytes, format, ctx);
  return { marks: landedMarks(out), frames: out.reduce((n, c) => n + pcmFrames(c), 0), warnings: ctx.events.filter((e) => e.type === 'warning') };
}

describe('decode() puts the run\'s words on their samples', () => {
  for (const [name, input] of Object.entries(inputs)) {
    it(`${name}: frame round(start × rate) for any chunking`, async () => {
      const bytes = input.bytes();
      await fc.assert(
        fc.asyncProperty(bytePartitions(bytes), async (chunks) => {
          const { marks } = await decodedMarks(chunks, input.format, input.declared);
          expect(marks.map((m) => m.at)).toEqual(expected);
          expect(marks.map((m) => m.text)).toEqual(words.map((w) => w.text));
        }),
        { numRuns: 25 },
      );
    });
  }

  it('MP3: frame round(start × rate) of the decoded stream for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(bytePartitions(mp3), async (chunks) => {
        const { marks, frames } = await decodedMarks(chunks, anyBytes, { kind: 'bytes', container: 'mp3' });
        expect(frames).toBeGreaterThan(RATE - 1);
        expect(marks.map((m) => m.at)).toEqual(expected);
      }),
      { numRuns: 15 },
    );
  });

  it('mulawDecode does the same', async () => {
    const bytes = inputs['µ-law'].bytes();
    const { marks } = await decodedMarks([bytes.subarray(0, 777), bytes.subarray(777)], { kind: 'bytes', container: 'mulaw', sampleRate: RATE, channels: 1 }, undefined, mulawDecode());
    expect(marks.map((m) => m.at)).toEqual(expected);
  });

  it('keeps the duration, text and offsets, and takes a repeated word once', async () => {
    const ctx = testContext('decode', inputs['raw PCM (declared)'].declared);
    ctx.words.add(words.slice(0, 5));
    ctx.words.add(words.slice(3)); // a resumed stream repeats the words around where it resumed
    const out = await runTransform(decode(), [inputs['raw PCM (declared)'].bytes()], anyBytes, ctx);
    const marks = landedMarks(out);
    expect(marks).toHaveLength(words.length);
    expect(marks[3]).toEqual({ at: expected[3], text: 'w3', duration: words[3].end - words[3].start, charStart: 6, charEnd: 7 });
  });

  it('moves every mark by the delay the server states (MP3: its encoder and decoder delay)', async () => {
    const ctx = testContext('decode', inputs['raw PCM (declared)'].declared);
    ctx.words.add(words.slice(0, 7));
    ctx.words.delay = 1105;
    const out = await runTransform(decode(), [inputs['raw PCM (declared)'].bytes()], anyBytes, ctx);
    expect(landedMarks(out).map((m) => m.at)).toEqual(expected.slice(0, 7).map((at) => at + 1105));
  });

  it('a word that comes after its audio lands on the next sample still to come, with a late-word warning', async () => {
    const bytes = inputs['raw PCM (declared)'].bytes();
    const ctx = testContext('decode', inputs['raw PCM (declared)'].declared);
    const stage = decode().create(ctx, anyBytes);
    const writer = stage.writable.getWriter();
    const reader = stage.readable.getReader();
    void writer.write(bytes.subarray(0, 4800));
    const first = await reader.read(); // frames 0–2399 given
    ctx.words.add([{ text: 'late', start: 0.05, end: 0.1, charStart: 0, charEnd: 4 }]);
    void writer.write(bytes.subarray(4800));
    const second = await reader.read();
    expect(pcmFrames(first.value!)).toBe(2400);
    expect(landedMarks([first.value!, second.value!]).map((m) => [m.text, m.at])).toEqual([['late', 2400]]);
    expect(ctx.events.some((e) => e.type === 'warning' && (e.detail as { code: string }).code === 'late-word')).toBe(true);
    void writer.close();
    ctx.finish();
  });
});
