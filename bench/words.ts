// Word timing in the browser: how far from the moment a word's first sample
// reaches the speaker (the worklet's played count less the output latency)
// audioWorkletSink's `word` events fire, beside a peer that polls the sink's
// status() every 10 ms, in the same playback, in Debian's Chromium. Prints
// median, 95th percentile and worst |error| per transport; positive = late.
//
//   npx tsx bench/words.ts [runs per transport, default 5]
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bundle, startPageServer } from '../test/support/browser/harness.js';

const CHROMIUM = process.env.VOXPIPE_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`words: skipped, no Chromium at ${CHROMIUM}`);
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 5);
const TEXT = 'The quick brown fox jumps over the lazy dog, then naps. Heard text ends where a word ends, and captions follow each word as it plays.';

const profile = mkdtempSync(join(tmpdir(), 'voxpipe-bench-words-'));
const script = await bundle(fileURLToPath(new URL('./support/words-page.ts', import.meta.url)));
const pages = await startPageServer({
  '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>' },
  '/page.js': { type: 'text/javascript', body: script },
});
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
});
const page = context.pages()[0] ?? (await context.newPage());

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const describe = (errors: number[]) => {
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  const late = errors.filter((e) => e > 30).length;
  return `median ${quantile(abs, 0.5).toFixed(1)} ms, p95 ${quantile(abs, 0.95).toFixed(1)} ms, worst ${abs[abs.length - 1].toFixed(1)} ms, outside ±30 ms ${((100 * late) / errors.length).toFixed(1)} %`;
};

try {
  console.log(`${runs} plays of ${TEXT.split(' ').length} words per transport; machine load (1 min) ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
  for (const transport of ['message', 'shared'] as const) {
    const events: number[] = [];
    const polled: number[] = [];
    let latency = 0;
    for (let i = 0; i < runs; i++) {
      await page.goto(`${pages.url}/${transport === 'shared' ? '?isolated' : ''}`);
      await page.waitForFunction(() => (globalThis as { vxReady?: boolean }).vxReady === true);
      const r = await page.evaluate((o) => (globalThis as any).vx.run(o), { text: TEXT, transport });
      events.push(...r.events);
      polled.push(...r.polled);
      latency = r.latencyMs;
    }
    console.log(`${transport} ring (output latency ${latency.toFixed(1)} ms):`);
    console.log(`  word events        ${describe(events)}`);
    console.log(`  status() polled    ${describe(polled)}`);
    const ratio = (q: number) => quantile(polled.map(Math.abs).sort((a, b) => a - b), q) / Math.max(0.1, quantile(events.map(Math.abs).sort((a, b) => a - b), q));
    console.log(`  polled / events    ×${ratio(0.5).toFixed(1)} at the median, ×${ratio(0.95).toFixed(1)} at p95`);
  }
} finally {
  await context.close();
  await pages.close();
  rmSync(profile, { recursive: true, force: true });
}
