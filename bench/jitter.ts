// The worklet sink's jitter buffer on jittery networks: 24 seeded 20-second
// answers (phrases of 1–3 s, pauses of 150–600 ms) over networks whose
// throughput dips (to 50–90 % for 0.5–3 s) and stalls (50–400 ms), with up to
// 120 ms of per-piece jitter, each played through the processor's own code on
// a simulated clock (no browser, no timing noise: the figures are the same on
// every run). For the adaptive buffer from 100, 150 and 200 ms and fixed
// prebuffers of 100–500 ms (re-gathered after each underrun; 100 ms also
// playing on at once) it prints underruns and mean latency (how long a speech
// sample waited between arriving and playing), typical (median) beside worst,
// and then each adaptive buffer against the fixed ones of equal or higher
// mean latency, network by network.
// Run: npx tsx bench/jitter.ts
import { deliveries, jitterFor, phrases, playout, seeded, type Delivery, type PlayoutResult, type Speech } from '../packages/browser/src/testing/playout.js';

const STREAMS = 24;
const SECONDS = 20;
const cases: Array<{ schedule: Delivery[]; speech: Speech }> = Array.from({ length: STREAMS }, (_, k) => {
  const r = seeded(k * 13 + 5);
  const dips = Array.from({ length: 2 + Math.floor(3 * r()) }, () => ({ atS: 0.5 + (SECONDS - 2.5) * r(), seconds: 0.5 + 2.5 * r(), speed: 0.5 + 0.4 * r() }));
  const stalls = Array.from({ length: Math.floor(4 * r()) }, () => ({ atS: 0.5 + (SECONDS - 2.5) * r(), ms: 50 + 350 * r() }));
  const schedule = deliveries({ seconds: SECONDS, chunkMs: 40, speed: 1.02, jitterMs: 120 * r(), dips, stalls, random: seeded(1000 + k) });
  return { schedule, speech: phrases(seeded(3000 + k), SECONDS) };
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const play = (j: ReturnType<typeof jitterFor>) => cases.map((c) => playout(c.schedule, j, c.speech));

const fixedMs = [100, 150, 200, 250, 300, 400, 500];
const fixed = new Map(fixedMs.map((ms) => [ms, play(jitterFor('fixed', ms))]));
const adaptive = new Map([100, 150, 200].map((ms) => [ms, play(jitterFor('adaptive', ms))]));

console.log(`${STREAMS} answers of ${SECONDS} s at 24 kHz; typical = the median answer, worst = the worst answer\n`);
console.log('policy                               underruns: total  typical  worst   mean latency ms: typical  worst   pause added / cut ms per answer');
const row = (name: string, results: PlayoutResult[]) => {
  const u = results.map((x) => x.underruns);
  const l = results.map((x) => x.meanLatencyMs);
  console.log(
    `${name.padEnd(37)}${String(sum(u)).padStart(16)}${String(median(u)).padStart(9)}${String(Math.max(...u)).padStart(7)}${median(l).toFixed(0).padStart(27)}${Math.max(...l).toFixed(0).padStart(7)}${`${(sum(results.map((x) => x.heldMs)) / STREAMS).toFixed(0)} / ${(sum(results.map((x) => x.trimmedMs)) / STREAMS).toFixed(0)}`.padStart(24)}`,
  );
};
for (const [ms, results] of adaptive) row(`adaptive from ${ms} ms${ms === 100 ? ' (default)' : ''}`, results);
row('fixed 100 ms, plays on at once', play(jitterFor('fixed', 100, 0)));
for (const [ms, results] of fixed) row(`fixed ${ms} ms`, results);

console.log('\neach adaptive buffer against, per answer, the smallest fixed prebuffer above (50 ms steps) whose mean latency is at least its own:');
for (const [ms, results] of adaptive) {
  let peerUnderruns = 0;
  let peerLatency = 0;
  let fewer = 0;
  let more = 0;
  results.forEach((a, k) => {
    let peer = fixed.get(100)![k];
    for (let p = 150; peer.meanLatencyMs < a.meanLatencyMs; p += 50) peer = fixed.get(p)?.[k] ?? playout(cases[k].schedule, jitterFor('fixed', p), cases[k].speech);
    peerUnderruns += peer.underruns;
    peerLatency += peer.meanLatencyMs;
    if (a.underruns < peer.underruns) fewer++;
    if (a.underruns > peer.underruns) more++;
  });
  const own = sum(results.map((x) => x.underruns));
  const latency = sum(results.map((x) => x.meanLatencyMs)) / STREAMS;
  console.log(
    `  adaptive from ${String(ms).padEnd(4)}: ${own} underruns vs ${peerUnderruns} (×${(own / peerUnderruns).toFixed(2)}), mean latency ${latency.toFixed(0)} vs ${(peerLatency / STREAMS).toFixed(0)} ms; fewer underruns on ${fewer} answers, more on ${more}`,
  );
}
