// How the engine shares its workers: work ahead of its listener leaves a worker for due work, without
// changing a single sample; and which streams it admits (capacity.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine } from './engine.js';
import { ESPEAK_SAMPLE_RATE, type EspeakEngine } from './engine-types.js';
import { LONG_TEXT, readAll, sameSamples } from './test-helpers.js';

/** How long the engine may take to settle: a hang limit, never a speed requirement. */
const WAIT = { timeout: 30_000, interval: 20 };

const engines: EspeakEngine[] = [];
async function engineWith(workers: number): Promise<EspeakEngine> {
  const engine = await createEspeakEngine({ workers });
  engines.push(engine);
  return engine;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

describe('espeak engine: scheduling', () => {
  it('work ahead of its listener never takes the last worker, so other requests find one; every stream stays sample-identical', async () => {
    const engine = await engineWith(2);
    const longText = `${LONG_TEXT} ${LONG_TEXT}`;
    const shortText = 'A new question arrives while the long answers are still being made.';
    const soloLong = await readAll(engine.synthesize({ text: longText, voice: 'en-us' }));
    const soloShort = await readAll(engine.synthesize({ text: shortText, voice: 'en-gb+f3' }));

    let mostAhead = 0;
    const watch = setInterval(() => (mostAhead = Math.max(mostAhead, engine.stats().aheadBusy)), 2);
    // Three long streams read as fast as they come: soon seconds ahead of their listeners.
    const read = [0, 0, 0];
    const floods = read.map((_, i) =>
      (async () => {
        const parts: Float32Array[] = [];
        for await (const chunk of engine.synthesize({ text: longText, voice: 'en-us', owner: 'flood' })) {
          parts.push(chunk.channels[0]);
          read[i] += chunk.channels[0].length;
        }
        return parts;
      })(),
    );
    await vi.waitFor(() => expect(Math.min(...read)).toBeGreaterThan(5 * ESPEAK_SAMPLE_RATE), WAIT);
    const shorts: Float32Array[] = [];
    for (let i = 0; i < 4; i++) shorts.push((await readAll(engine.synthesize({ text: shortText, voice: 'en-gb+f3', owner: 'quiet' }))).samples);
    const flooded = await Promise.all(floods);
    clearInterval(watch);

    expect(mostAhead).toBe(1);
    for (const parts of flooded) {
      const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        joined.set(part, at);
        at += part.length;
      }
      expect(sameSamples(joined, soloLong.samples)).toBe(true);
    }
    for (const short of shorts) expect(sameSamples(short, soloShort.samples)).toBe(true);
  });

  it('admits streams while every one would get its audio in time, then refuses with Retry-After; two streams per worker are always admitted', async () => {
    const engine = await engineWith(1);
    const text = `${LONG_TEXT} ${LONG_TEXT} ${LONG_TEXT}`;
    // However long their texts, the first two streams on a worker are taken (and more while they would all be in time).
    const huge = `${text} `.repeat(10);
    const floor = [engine.admit({ text: huge, owner: 'a' }), engine.admit({ text: huge, owner: 'b' })];
    expect(floor.every((answer) => 'release' in answer)).toBe(true);
    for (const answer of floor) (answer as { release(): void }).release();
    const admissions: Array<{ release(): void }> = [];
    let refusal: { retryAfter: number } | undefined;
    // Each admitted stream's first segment is due at once: the work due now grows with every admission, so one is refused.
    for (let i = 0; i < 1000 && !refusal; i++) {
      const answer = engine.admit({ text, owner: `listener ${i}` });
      if ('retryAfter' in answer) refusal = answer;
      else admissions.push(answer);
    }
    expect(admissions.length).toBeGreaterThanOrEqual(2);
    expect(refusal).toBeDefined();
    expect(Number.isInteger(refusal!.retryAfter) && refusal!.retryAfter >= 1).toBe(true);
    expect(engine.stats().refused).toBe(1);
    // Giving back one admission's work makes room for one more; giving back all leaves the engine idle, taking any stream.
    admissions.pop()!.release();
    const again = engine.admit({ text, owner: 'again' });
    expect('release' in again).toBe(true);
    for (const admitted of [...admissions, again as { release(): void }]) admitted.release();
    expect('release' in engine.admit({ text: `${text} ${text}`, owner: 'alone' })).toBe(true);
  });

  it('a stream admitted and then synthesized counts once: its synthesis (whole, or sentence by sentence) takes over the admitted work', async () => {
    const engine = await engineWith(1);
    const text = 'The first sentence is spoken on its own. The second one follows it.';
    const [first, second] = ['The first sentence is spoken on its own.', 'The second one follows it.'];
    const admitted = engine.admit({ text, owner: 'reader' }) as { release(): void };
    expect(engine.stats().reserved).toBe(1);
    // Another owner's stream of the same text does not take it over.
    await readAll(engine.synthesize({ text, voice: 'en-us', owner: 'someone else' }));
    expect(engine.stats().reserved).toBe(1);
    await readAll(engine.synthesize({ text: first, voice: 'en-us', owner: 'reader' }));
    expect(engine.stats().reserved).toBe(1);
    await readAll(engine.synthesize({ text: second, voice: 'en-us', owner: 'reader' }));
    expect(engine.stats().reserved).toBe(0);
    admitted.release();
    // Admitted and given back without synthesis (the client left): nothing stays counted.
    (engine.admit({ text, owner: 'reader' }) as { release(): void }).release();
    expect(engine.stats().reserved).toBe(0);
    const whole = engine.admit({ text, owner: 'reader' }) as { release(): void };
    await readAll(engine.synthesize({ text, voice: 'en-us', owner: 'reader' }));
    expect(engine.stats().reserved).toBe(0);
    whole.release();
  });

  it("warm: 'full' measures each worker's cost before the engine is ready, starts its estimate there, and leaves no trace in the audio", async () => {
    const quick = await engineWith(1);
    const full = await createEspeakEngine({ workers: 1, warm: 'full' });
    engines.push(full);
    const [startup] = full.workerStartups;
    expect(startup.msPerChar).toBeGreaterThan(0);
    expect(full.stats().msPerChar).toBeCloseTo(startup.msPerChar, 9);
    expect(quick.workerStartups[0].msPerChar).toBe(0);
    const request = { text: LONG_TEXT, voice: 'en-us+f3' };
    expect(sameSamples((await readAll(full.synthesize(request))).samples, (await readAll(quick.synthesize(request))).samples)).toBe(true);
  });
});
