// How the engine shares its workers: work ahead of its listener leaves a worker for due work, without
// changing a single sample.
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
    await vi.waitFor(() => expect(Math.min(...read)).toBeGreaterThan(5 * 22050), WAIT);
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
});
