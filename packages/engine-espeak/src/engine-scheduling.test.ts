// How the engine shares its workers: a new stream's first audio as a short slice, due work before work
// that is ahead of its listener (stopping it part-way), and none of it changing a single sample.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine } from './engine.js';
import type { EspeakEngine } from './engine-types.js';
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
  it("makes a new stream's first audio as a short slice, and the stream is sample-identical to one made whole", async () => {
    const engine = await engineWith(1);
    const before = engine.stats().sliced;
    const sliced = await readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us+f3' }));
    expect(engine.stats().sliced).toBe(before + 1);
    // urgentMs: all of it is needed at once, so nothing is sliced.
    const whole = await readAll(engine.synthesize({ text: LONG_TEXT, voice: 'en-us+f3', urgentMs: Infinity }));
    expect(engine.stats().sliced).toBe(before + 1);
    expect(sliced.seconds).toBeGreaterThan(10);
    expect(sameSamples(sliced.samples, whole.samples)).toBe(true);
  });

  it('a short text is made whole', async () => {
    const engine = await engineWith(1);
    const before = engine.stats().sliced;
    await readAll(engine.synthesize({ text: 'Yes, we can.', voice: 'en-us' }));
    expect(engine.stats().sliced).toBe(before);
  });

  it('a new request stops a job that is far ahead of its listener; both streams stay sample-identical to their solo runs', async () => {
    const engine = await engineWith(1);
    const longText = `${LONG_TEXT} ${LONG_TEXT} ${LONG_TEXT}`;
    const shortText = 'A new question arrives while the long answer is still being made.';
    const soloLong = await readAll(engine.synthesize({ text: longText, voice: 'en-us' }));
    const soloShort = await readAll(engine.synthesize({ text: shortText, voice: 'en-gb+f3' }));

    // The long stream is read as fast as it comes, so it is soon seconds ahead of its listener and its jobs may be stopped.
    const parts: Float32Array[] = [];
    let readFrames = 0;
    const longDone = (async () => {
      for await (const chunk of engine.synthesize({ text: longText, voice: 'en-us', owner: 'flood' })) {
        parts.push(chunk.channels[0]);
        readFrames += chunk.channels[0].length;
      }
    })();
    await vi.waitFor(() => expect(readFrames).toBeGreaterThan(6 * 22050), WAIT);
    const shorts: Float32Array[] = [];
    while (engine.stats().preempted === 0 && shorts.length < 20) {
      shorts.push((await readAll(engine.synthesize({ text: shortText, voice: 'en-gb+f3', owner: 'quiet' }))).samples);
      if (engine.stats().completed > 0 && engine.stats().active === 0) break;
    }
    await longDone;
    expect(engine.stats().preempted).toBeGreaterThan(0);
    expect(engine.stats().resumed).toBeGreaterThan(0);
    const joined = new Float32Array(readFrames);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    expect(sameSamples(joined, soloLong.samples)).toBe(true);
    for (const short of shorts) expect(sameSamples(short, soloShort.samples)).toBe(true);
  });
});
