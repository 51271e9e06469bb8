import { readdirSync, readFileSync } from 'node:fs';
import { VoxpipeError } from '@voxpipe/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine } from './engine.js';
import { ESPEAK_SAMPLE_RATE, type EspeakEngine } from './engine-types.js';
import { medianF0, semitonesBetween } from './f0.js';
import { PITCH_POINTS, PITCH_TABLE } from './pitch-table.js';
import { splitSegments } from './segment.js';
import { LONG_TEXT, readAll, rejectionOf, rms, sameSamples } from './test-helpers.js';
import { ESPEAK_VOICES } from './voices.js';

/** How long the engine may take to settle: a hang limit, never a speed requirement (SETTLE in test/support/budgets.ts). */
const WAIT = { timeout: 30_000, interval: 20 };
const RATE = ESPEAK_SAMPLE_RATE;

let engine: EspeakEngine;

beforeAll(async () => {
  engine = await createEspeakEngine({ workers: 2 });
});

afterAll(async () => {
  await engine?.close();
});

describe('espeak engine', () => {
  it('describes itself and lists the voices it can speak with', () => {
    expect(engine.name).toBe('espeak');
    expect(engine.sampleRate).toBe(24000);
    const voices = engine.voices();
    const ids = voices.map((v) => v.id);
    for (const id of ['en-us+m3', 'en-us+f3', 'en-gb+m3', 'en-gb+f3', 'de+m3', 'de+f3', 'fr+m3', 'fr+f3', 'es+m3', 'es+f3']) expect(ids).toContain(id);
    expect(new Set(voices.map((v) => v.language))).toEqual(new Set(['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES']));
    expect(voices.find((v) => v.id === 'en-us+f3')).toEqual({ id: 'en-us+f3', language: 'en-US', gender: 'female' });
    expect(voices.find((v) => v.id === 'de+m3')?.gender).toBe('male');
  });

  it('speaks "Hello world" as plausible, non-silent mono audio at 24 kHz', async () => {
    const heard = await readAll(engine.synthesize({ text: 'Hello world', voice: 'en-us+m3' }));
    expect(heard.rate).toBe(24000);
    expect(heard.seconds).toBeGreaterThan(0.5);
    expect(heard.seconds).toBeLessThan(3);
    expect(rms(heard.samples)).toBeGreaterThan(0.01);
    expect(Math.max(...heard.samples.map(Math.abs))).toBeLessThanOrEqual(1);
  });

  it('speaks every exposed language with voiced audio', async () => {
    const texts: Record<string, string> = { 'en-gb+f3': 'Good morning.', 'de+m3': 'Guten Morgen.', 'fr+f3': 'Bonjour à tous.', 'es+m3': 'Buenos días.' };
    for (const [voice, text] of Object.entries(texts)) {
      const heard = await readAll(engine.synthesize({ text, voice }));
      expect(heard.seconds).toBeGreaterThan(0.3);
      expect(medianF0(heard.samples, RATE)).toBeDefined();
    }
    const female = medianF0((await readAll(engine.synthesize({ text: 'Good morning to you.', voice: 'en-us+f3' }))).samples, RATE)!;
    const male = medianF0((await readAll(engine.synthesize({ text: 'Good morning to you.', voice: 'en-us+m3' }))).samples, RATE)!;
    expect(semitonesBetween(male, female)).toBeGreaterThan(5);
  });

  it('speaks with every exposed voice, each near the f0 its pitch table gives (the packaged data holds every language and variant)', async () => {
    const texts: Record<string, string> = {
      'en-US': 'Please call Stella and ask her to bring these things with her.',
      'en-GB': 'Please call Stella and ask her to bring these things with her.',
      'de-DE': 'Bitte ruf Stella an und sag ihr, sie soll diese Dinge mitbringen.',
      'fr-FR': 'Appelle Stella et demande-lui d’apporter ces choses avec elle.',
      'es-ES': 'Por favor llama a Stella y pídele que traiga estas cosas.',
    };
    const at50 = PITCH_POINTS.indexOf(50);
    for (const voice of ESPEAK_VOICES) {
      const heard = await readAll(engine.synthesize({ text: texts[voice.language], voice: voice.id }));
      const f0 = medianF0(heard.samples, RATE, { minHz: 50, maxHz: 600 });
      expect(f0, voice.id).toBeDefined();
      expect(Math.abs(semitonesBetween(PITCH_TABLE[voice.id][at50], f0!)), voice.id).toBeLessThan(3);
    }
  });

  it('delivers a long sentence in many ~100 ms pieces, the first while synthesis is still running', async () => {
    const heard = await readAll(engine.synthesize({ text: LONG_TEXT.split('. ')[0], voice: 'en-us' }));
    expect(heard.chunks).toBeGreaterThan(10);

    // The worker blocks after its first piece (test hook): receiving that
    // piece proves it was posted from inside espeak's callback.
    const stream = engine.synthesize({ text: LONG_TEXT, voice: 'en-us', __test: { pauseAfterChunks: 1 } });
    const reader = stream.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(first.value!.channels[0].length).toBeGreaterThan(1000);
    expect(first.value!.channels[0].length).toBeLessThan(4000);
    expect(engine.stats().busy).toBeGreaterThanOrEqual(1);
    await reader.cancel();
    await vi.waitFor(() => expect(engine.stats().busy).toBe(0), WAIT);
  });

  it('gives identical samples for the same request, on any worker and under concurrency', async () => {
    const request = { text: 'Determinism matters. The same request gives the same samples.', voice: 'en-us+f3', speed: 1.3, pitch: 2 };
    const reference = await readAll(engine.synthesize(request));
    const again = await Promise.all([0, 1, 2, 3].map(() => readAll(engine.synthesize(request))));
    for (const heard of again) expect(sameSamples(heard.samples, reference.samples)).toBe(true);
    // a multi-segment text is deterministic too (segments may run on different workers)
    const long = { text: LONG_TEXT, voice: 'de+m3' };
    expect(splitSegments(long.text).length).toBeGreaterThan(1);
    const [a, b] = await Promise.all([readAll(engine.synthesize(long)), readAll(engine.synthesize(long))]);
    expect(a.samples.length).toBeGreaterThan(RATE * 10);
    expect(sameSamples(a.samples, b.samples)).toBe(true);
  });

  it('runs 6 parallel requests on 2 workers, queueing the rest, and all complete', async () => {
    const before = engine.stats();
    const texts = ['One two three.', 'Four five six.', 'Seven eight nine.', 'Ten eleven twelve.', 'Thirteen fourteen.', 'Fifteen sixteen.'];
    const streams = texts.map((text, i) => engine.synthesize({ text, voice: i % 2 ? 'en-us+f3' : 'fr+m3' }));
    for (let i = 0; i < 20; i++) await Promise.resolve(); // microtasks only: no worker message can arrive yet
    expect(engine.stats()).toMatchObject({ busy: 2, queued: 4 });
    const heard = await Promise.all(streams.map(readAll));
    for (const h of heard) expect(h.seconds).toBeGreaterThan(0.4);
    const after = engine.stats();
    expect(after.completed - before.completed).toBe(6);
    expect(after).toMatchObject({ busy: 0, queued: 0, workers: 2 });
  });

  it('speed 2 roughly halves the duration', async () => {
    const text = 'Speed changes how long it takes to say this sentence out loud.';
    const normal = await readAll(engine.synthesize({ text, voice: 'en-us+m3' }));
    const fast = await readAll(engine.synthesize({ text, voice: 'en-us+m3', speed: 2 }));
    const ratio = fast.seconds / normal.seconds;
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(0.65);
  });

  it('pitch +4 semitones raises the measured f0 by 4 ± 1.5 semitones', async () => {
    const text = 'My mother brought a large loaf of bread home from the market.';
    for (const voice of ['en-us+m3', 'en-gb+f3']) {
      const base = medianF0((await readAll(engine.synthesize({ text, voice }))).samples, RATE)!;
      const up = medianF0((await readAll(engine.synthesize({ text, voice, pitch: 4 }))).samples, RATE)!;
      const down = medianF0((await readAll(engine.synthesize({ text, voice, pitch: -3 }))).samples, RATE)!;
      expect(Math.abs(semitonesBetween(base, up) - 4)).toBeLessThan(1.5);
      expect(Math.abs(semitonesBetween(base, down) + 3)).toBeLessThan(1.5);
    }
  });

  it('rejects bad requests with a typed bad-request error', async () => {
    const cases = [
      { text: 'Hi', voice: 'klingon' },
      { text: 'Hi', voice: 'en-us+nope' },
      { text: '   ', voice: 'en-us' },
      { text: 'Hi', voice: 'en-us', speed: 0 },
      { text: 'Hi', voice: 'en-us', speed: Number.NaN },
      { text: 'Hi', voice: 'en-us', pitch: Number.POSITIVE_INFINITY },
    ];
    const before = engine.stats().started;
    for (const request of cases) {
      const error = await rejectionOf(readAll(engine.synthesize(request)));
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('bad-request');
    }
    expect(((await rejectionOf(readAll(engine.synthesize(cases[0])))) as Error).message).toMatch(/klingon/);
    expect(engine.stats().started).toBe(before);
  });

  it('accepts voice ids in any case', async () => {
    const heard = await readAll(engine.synthesize({ text: 'Case.', voice: 'EN-US+F3' }));
    expect(heard.seconds).toBeGreaterThan(0.2);
  });

  it('rejects bad engine options', async () => {
    await expect(createEspeakEngine({ workers: 0 })).rejects.toMatchObject({ code: 'bad-request' });
    await expect(createEspeakEngine({ wrokers: 2 } as never)).rejects.toMatchObject({ code: 'bad-request' });
    for (const workerNice of [-1, 20, 2.5]) await expect(createEspeakEngine({ workers: 1, workerNice })).rejects.toMatchObject({ code: 'bad-request' });
  });

  it.runIf(process.platform === 'linux')('runs its workers the given nice levels below the process, and the process itself where it was', async () => {
    const niceOf = (task: string) => Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const before = new Set(readdirSync('/proc/self/task'));
    const own = niceOf(String(process.pid));
    const niced = await createEspeakEngine({ workers: 2, workerNice: 7 });
    try {
      const added = readdirSync('/proc/self/task').filter((task) => !before.has(task));
      // The two workers, and no other thread, sit 7 levels below.
      expect(added.filter((task) => niceOf(task) === Math.min(19, own + 7))).toHaveLength(2);
      expect(niceOf(String(process.pid))).toBe(own);
      const heard = await readAll(niced.synthesize({ text: 'Lower priority, same voice.', voice: 'en-us' }));
      expect(sameSamples(heard.samples, (await readAll(engine.synthesize({ text: 'Lower priority, same voice.', voice: 'en-us' }))).samples)).toBe(true);
    } finally {
      await niced.close();
    }
  });
});
