// The worklet sink's jitter buffer on jittery networks: 12 seeded 20-second
// streams whose throughput dips (to 50–90 % for 0.5–3 s) and stalls
// (100–400 ms), with up to 80 ms of per-piece jitter, each played through the
// processor's own code on a simulated clock (no browser, no timing noise:
// figures are the same on every run). Prints, for the adaptive buffer and
// fixed prebuffers of 100–800 ms (re-gathered after each underrun) and a fixed
// 100 ms that plays on at once: underruns and mean/worst latency (how long a
// sample waited between arriving and playing), typical (median) beside worst.
// Run: npx tsx bench/jitter.ts
import { deliveries, jitterFor, playout, seeded, type PlayoutResult } from '../packages/browser/src/testing/playout.js';

const STREAMS = 12;
const schedules = Array.from({ length: STREAMS }, (_, k) => {
  const r = seeded(k + 1);
  const dips = Array.from({ length: 3 }, (_, i) => ({ atS: 1 + i * 6 + 2 * r(), seconds: 0.5 + 2.5 * r(), speed: 0.5 + 0.4 * r() }));
  const stalls = Array.from({ length: 3 }, (_, i) => ({ atS: 3 + i * 6 + r(), ms: 100 + 300 * r() }));
  return deliveries({ seconds: 20, chunkMs: 40, speed: 1.02, jitterMs: 80, dips, stalls, random: seeded(1000 + k) });
});

const policies: Array<[string, ReturnType<typeof jitterFor>]> = [
  ['adaptive, from 100 ms (default)', jitterFor('adaptive', 100)],
  ['fixed 100 ms, plays on at once', jitterFor('fixed', 100, 0)],
  ['fixed 100 ms', jitterFor('fixed', 100)],
  ['fixed 200 ms', jitterFor('fixed', 200)],
  ['fixed 300 ms', jitterFor('fixed', 300)],
  ['fixed 500 ms', jitterFor('fixed', 500)],
  ['fixed 800 ms', jitterFor('fixed', 800)],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
console.log(`${STREAMS} streams of 20 s, 24 kHz; per stream: underruns, mean latency; typical = median of the streams, worst = the worst stream\n`);
console.log('policy                              underruns: total  typical  worst   mean latency ms: typical  worst   worst wait ms');
const rows: Array<{ name: string; underruns: number; latency: number }> = [];
for (const [name, jitter] of policies) {
  const results: PlayoutResult[] = schedules.map((s) => playout(s, jitter));
  const u = results.map((x) => x.underruns);
  const l = results.map((x) => x.meanLatencyMs);
  rows.push({ name, underruns: sum(u), latency: sum(l) / l.length });
  console.log(
    `${name.padEnd(36)}${String(sum(u)).padStart(16)}${String(median(u)).padStart(9)}${String(Math.max(...u)).padStart(7)}${median(l).toFixed(0).padStart(27)}${Math.max(...l).toFixed(0).padStart(7)}${Math.max(...results.map((x) => x.worstLatencyMs)).toFixed(0).padStart(16)}`,
  );
}
const adaptive = rows[0];
console.log('\nadaptive against each fixed buffer (underruns ratio, mean latency difference):');
for (const row of rows.slice(1)) {
  console.log(`  vs ${row.name.padEnd(32)} underruns ×${(adaptive.underruns / row.underruns).toFixed(2)}   latency ${adaptive.latency - row.latency >= 0 ? '+' : ''}${(adaptive.latency - row.latency).toFixed(0)} ms`);
}
