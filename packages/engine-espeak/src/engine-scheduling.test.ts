// How the engine shares its workers: due work before work that is ahead of its listener (stopping it
// part-way), without changing a single sample.
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
