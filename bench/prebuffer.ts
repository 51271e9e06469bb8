// prebuffer and meter cost: one 24 kHz mono stream of 20 ms chunks through a
// bare identity TransformStream, a JS pass-through transformStage (the fair
// baseline), prebuffer (chunks; ms with rebuffer) and meter (alone; every
// 20 ms), each alone between the same source and sink. Prints µs per chunk,
// the ratio to the identity stream, and how many real-time streams one core
// could carry. Figures vary run to run on a shared machine.
// Run: npx tsx bench/prebuffer.ts
import { anyPcm, meter, prebuffer, ReadableStream, transformStage, TransformStream, WritableStream, type PcmChunk } from '../packages/core/src/index.js';
import { testContext } from '../packages/core/src/testing/index.js';

const RATE = 24000;
const FRAMES = 480; // 20 ms
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 60_000); // 20 minutes of audio
const chunk: PcmChunk = { sampleRate: RATE, channels: [Float32Array.from({ length: FRAMES }, (_, i) => Math.sin(i / 7) * 0.3)] };

function source(): ReadableStream<PcmChunk> {
  let left = CHUNKS;
  return new ReadableStream<PcmChunk>({ pull: (c) => (left-- > 0 ? c.enqueue(chunk) : c.close()) }, { highWaterMark: 0 });
}

async function time(make: () => { readable: ReadableStream<unknown>; writable: WritableStream<unknown> }): Promise<number> {
  let seen = 0;
  const start = performance.now();
  await source()
    .pipeThrough(make() as TransformStream<PcmChunk, unknown>)
    .pipeTo(new WritableStream({ write: () => void seen++ }));
  const ms = performance.now() - start;
  if (seen !== CHUNKS) throw new Error(`lost chunks: ${seen} of ${CHUNKS}`);
  return (ms * 1000) / CHUNKS;
}

const passThrough = transformStage<PcmChunk, PcmChunk>({
  name: 'passThrough',
  takes: anyPcm,
  gives: (f) => f,
  transformer: () => ({ transform: (c, out) => out.enqueue(c) }),
});

const cases: Array<[string, () => { readable: ReadableStream<unknown>; writable: WritableStream<unknown> }]> = [
  ['identity TransformStream', () => new TransformStream()],
  ['transformStage pass-through (JS baseline)', () => passThrough.create(testContext('passThrough'), anyPcm) as never],
  ['prebuffer({ chunks: 3 })', () => prebuffer({ chunks: 3 }).create(testContext('prebuffer'), anyPcm)],
  ['prebuffer({ ms: 250, rebuffer: true })', () => prebuffer({ ms: 250, rebuffer: true }).create(testContext('prebuffer'), anyPcm)],
  ['meter()', () => meter().create(testContext('meter'), anyPcm) as never],
  ['meter({ every: 20 })', () => meter({ every: 20 }).create(testContext('meter'), anyPcm) as never],
];

console.log(`${CHUNKS} chunks of 20 ms (${((CHUNKS * 20) / 60000).toFixed(0)} min of 24 kHz mono audio), best of 3\n`);
let base = 0;
for (const [name, make] of cases) {
  await time(make); // warm up
  const best = Math.min(await time(make), await time(make), await time(make));
  if (!base) base = best;
  const streams = 20_000 / best; // a 20 ms chunk every 20 ms per stream
  console.log(`${name.padEnd(44)} ${best.toFixed(2).padStart(7)} µs/chunk   ${(best / base).toFixed(2)}× identity   ~${Math.round(streams).toLocaleString('en')} real-time streams/core`);
}
