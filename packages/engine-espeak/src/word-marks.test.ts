import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEspeakEngine } from './engine.js';
import { ESPEAK_SAMPLE_RATE, type EspeakEngine } from './engine-types.js';
import { semitonesToPitch, speedToRate } from './prosody.js';
import { openingSegments } from './segment.js';
import { findVoice } from './voices.js';
import { readAll, sameSamples, type Heard } from './test-helpers.js';

const RATE = ESPEAK_SAMPLE_RATE;
let engine: EspeakEngine;

beforeAll(async () => {
  engine = await createEspeakEngine({ workers: 2 });
});

afterAll(async () => {
  await engine?.close();
});

/** Punctuation nobody hears: the words of a text are whitespace-separated, without it at either end (alone, it stays whole). */
const QUIET = '.,;:!?¡¿…"\'“”„‘’‚«»‹›()[\\]{}\\-‐‑–—';

function wordsOf(text: string): { text: string; start: number; end: number }[] {
  const out: { text: string; start: number; end: number }[] = [];
  for (const match of text.matchAll(/\S+/gu)) {
    const token = match[0];
    const stripped = token.replace(new RegExp(`^[${QUIET}]+`, 'u'), '').replace(new RegExp(`[${QUIET}]+$`, 'u'), '');
    if (stripped === '') continue;
    const start = match.index + token.indexOf(stripped);
    out.push({ text: stripped, start, end: start + stripped.length });
  }
  return out;
}

/**
 * Checks what every stream's marks must be: in order, inside their chunks
 * and the audio, each ending before the next begins, each the next word of
 * the text (or the next few, when eSpeak says them as one), all of them
 * together every word. Returns the marks' texts.
 */
function checkMarks(text: string, heard: Heard): string[] {
  expect(heard.misplaced).toBe(0);
  const words = wordsOf(text);
  let next = 0;
  let lastEnd = 0;
  for (const mark of heard.marks) {
    expect(text.slice(mark.charStart, mark.charEnd)).toBe(mark.text);
    expect(mark.charStart, `"${mark.text}" starts the next word of ${JSON.stringify(text)}`).toBe(words[next]?.start);
    const last = words.findIndex((w, i) => i >= next && w.end === mark.charEnd);
    expect(last, `"${mark.text}" ends on a word of ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(next);
    next = last + 1;
    expect(mark.frame).toBeGreaterThanOrEqual(lastEnd - 1);
    expect(mark.duration).toBeGreaterThanOrEqual(0);
    lastEnd = mark.frame + Math.round(mark.duration * RATE);
    expect(lastEnd).toBeLessThanOrEqual(heard.samples.length + 1);
  }
  expect(next, `every word of ${JSON.stringify(text)} is marked`).toBe(words.length);
  return heard.marks.map((m) => m.text);
}

/** eSpeak NG's wasm build, loaded as the worker loads it (the module has no types). */
const ESPEAK_MODULE: string = new URL('../espeak-ng/espeak-ng.js', import.meta.url).href;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the wasm glue has no types
let reference: Promise<{ module: any; espeak: any; fresh: Uint8Array }> | undefined;

/**
 * eSpeak NG's own word events for a request, from a wasm instance of this
 * test's own (its `synthesize` glue, which reports whole milliseconds):
 * seconds from the start of the audio, each segment (as the engine cuts the
 * text) spoken from the same fresh state, as the engine's workers do.
 */
async function espeakWordTimes(text: string, voice: string, speed: number, pitch: number): Promise<Map<number, number>> {
  reference ??= (async () => {
    const { default: createEspeak } = (await import(ESPEAK_MODULE)) as { default: () => Promise<any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const module = await createEspeak();
    const espeak = new module.eSpeakNGWorker();
    espeak.set_voice('en-us');
    return { module, espeak, fresh: module.HEAPU8.slice() as Uint8Array };
  })();
  const { module, espeak, fresh } = await reference;
  /** Where each word event points in `text` (UTF-16; the texts here are single-spaced ASCII) → when it starts, s. */
  const times = new Map<number, number>();
  let offset = 0;
  let cursor = 0;
  for (const segment of openingSegments(text)) {
    const at = text.indexOf(segment, cursor);
    cursor = at + segment.length;
    module.HEAPU8.set(fresh);
    espeak.set_voice(findVoice(voice)!.espeak);
    espeak.set_rate(speedToRate(speed));
    espeak.set_pitch(semitonesToPitch(findVoice(voice)!.id, pitch));
    const bytes = new TextEncoder().encode(segment);
    const ptr = module._malloc(bytes.length + 1);
    module.HEAPU8.set(bytes, ptr);
    module.HEAPU8[ptr + bytes.length] = 0;
    let frames = 0;
    espeak.synthesize({ ptr }, (pcm: Int16Array | undefined, events: { type: string; audio_position: number; text_position: number }[]) => {
      for (const event of events) {
        const char = at + event.text_position - 1;
        if (event.type === 'word' && !times.has(char)) times.set(char, offset + event.audio_position / 1000);
      }
      frames += pcm?.length ?? 0;
      return false;
    });
    offset += frames / RATE;
  }
  return times;
}

describe('espeak word marks', () => {
  it('marks each word within one 10 ms frame of where eSpeak NG says it starts, for several voices, speeds and pitches', async () => {
    const cases = [
      { text: 'The quick brown fox jumps over the lazy dog and then it runs away into the forest where nobody can find it again', voice: 'en-us+m3', speed: 1, pitch: 0 },
      { text: 'Streaming speech lets a listener hear the start of an answer while the rest is still being made', voice: 'en-gb+f3', speed: 2, pitch: 5 },
      { text: 'Der schnelle braune Fuchs springt heute wieder über den faulen Hund', voice: 'de+m3', speed: 0.6, pitch: -4 },
      { text: 'Le petit chat dort sur le canapé pendant que la pluie tombe', voice: 'fr+f3', speed: 1.4, pitch: 2 },
    ];
    for (const { text, voice, speed, pitch } of cases) {
      const heard = await readAll(engine.synthesize({ text, voice, speed, pitch }));
      expect(checkMarks(text, heard).join(' ')).toBe(text);
      const reference = await espeakWordTimes(text, voice, speed, pitch);
      expect(heard.marks.length).toBeGreaterThan(text.split(' ').length * 0.8);
      for (const mark of heard.marks) {
        const espeakSays = reference.get(mark.charStart);
        expect(espeakSays, `eSpeak has an event at "${mark.text}"`).toBeDefined();
        expect(Math.abs(mark.frame / RATE - espeakSays!), `${voice} "${mark.text}"`).toBeLessThanOrEqual(0.01);
      }
    }
  });

  it('keeps the writer\'s words and offsets: extra whitespace, punctuation, numbers, accents, emoji', async () => {
    const text = '  "Hello,"   world!\n\nDon\'t stop:\t1939 ünïcödé 😀 here… (well-known) e-mail.';
    const heard = await readAll(engine.synthesize({ text, voice: 'en-us' }));
    const words = checkMarks(text, heard);
    expect(words).toEqual(['Hello', 'world', "Don't", 'stop', '1939', 'ünïcödé', '😀', 'here', 'well-known', 'e-mail']);
    // What eSpeak says as one ("of an": "əvən") is one mark covering both words.
    const joined = await readAll(engine.synthesize({ text: 'the start of an answer', voice: 'en-gb+f3', speed: 2 }));
    expect(checkMarks('the start of an answer', joined)).toEqual(['the', 'start', 'of an', 'answer']);
  });

  it('ends a word where its voiced audio ends, not after the pause that follows it', async () => {
    const heard = await readAll(engine.synthesize({ text: 'One. Two, three.', voice: 'en-us+m3' }));
    const [one, two, three] = heard.marks;
    // A sentence's pause (and a comma's) lies between one word's end and the next one's start.
    expect(two.frame - (one.frame + one.duration * RATE)).toBeGreaterThan(0.1 * RATE);
    expect(three.frame - (two.frame + two.duration * RATE)).toBeGreaterThan(0.05 * RATE);
    // The last word ends before the trailing silence; the audio after it is (nearly) silent.
    const end = Math.round(three.frame + three.duration * RATE);
    expect(end).toBeLessThan(heard.samples.length);
    const tail = heard.samples.subarray(end + 100);
    expect(Math.max(0, ...tail.map(Math.abs))).toBeLessThan(0.05);
  });

  it('marks are in order, inside their chunk and the words of the text, for random texts, voices, speeds and pitches (property)', async () => {
    const plain = ['hello', 'world', 'stream', 'speech', 'river', 'orange', 'table', 'yesterday', 'music', 'garden'];
    const mixed = [...plain, "Don't", '1939', 'über', 'café', '😀', 'e-mail', '3.5', '(paren)', '"quoted"', 'well-known', '$5', '—', '...', 'Straße', 'A.B.'];
    const separators = [' ', '  ', ', ', '. ', '\n', '! ', '? ', '\t', '; '];
    const voices = ['en-us', 'en-us+f3', 'en-gb+m3', 'de+f3', 'fr+m3', 'es+f3'];
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(mixed.length - 1), fc.nat(separators.length - 1)), { minLength: 1, maxLength: 14 }),
        fc.constantFrom(...voices),
        fc.double({ min: 0.5, max: 2.6, noNaN: true }),
        fc.double({ min: -6, max: 8, noNaN: true }),
        async (onlyPlain, picks, voice, speed, pitch) => {
          const pool = onlyPlain ? plain : mixed;
          const text = picks.map(([w, s]) => pool[w % pool.length] + separators[s]).join('');
          const heard = await readAll(engine.synthesize({ text, voice, speed, pitch }));
          checkMarks(text, heard);
          if (onlyPlain) expect(heard.marks.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 14 },
    );
  });

  it('gives identical marks (and samples) for the same request, run after run', async () => {
    const request = { text: 'Determinism matters, word by word. The same request gives the same marks on any worker.', voice: 'es+m3', speed: 1.7, pitch: -2 };
    const [a, b] = await Promise.all([readAll(engine.synthesize(request)), readAll(engine.synthesize(request))]);
    const c = await readAll(engine.synthesize(request));
    expect(a.marks.length).toBeGreaterThan(10);
    expect(b.marks).toEqual(a.marks);
    expect(c.marks).toEqual(a.marks);
    expect(sameSamples(a.samples, c.samples)).toBe(true);
  });
});
