// Throughput of the PCM edge and shaping stages (pcmDecode, pcmEncode, mix,
// frames, fade, gain, resample) on 60 s of 24 kHz audio, as multiples of real
// time, each alone in a pipeline from an in-memory source, against a bare
// identity TransformStream over the same chunks; the stages that move or
// re-chunk time again with a word mark every 300 ms (what a timestamped
// stream carries), beside the same stage without marks. Then the cost of one
// real-time stream through the five-stage chain gain → mix → fade → meter →
// pcmEncode at 20 ms chunks, as % of a core (CPU time of this process per
// second of audio) and streams per core: as a pipeline runs them (inside the
// sink's writes, no stream of their own), fused in one TransformStream (before
// a sink that measures its chunks) and unfused (one each), beside five bare
// TransformStreams, one, and none (the source straight into the sink).
// Run: npx tsx bench/pcm-stages.ts (the chain alone: npx tsx bench/pcm-stages.ts chain)
import {
  anyPcm,
  assemble,
  fade,
  frames,
  gain,
  meter,
  mix,
  pcmDecode,
  pcmEncode,
  ReadableStream,
  resample,
  transformStage,
  type AnyStage,
  type Format,
  type PcmChunk,
  type SinkStage,
  type SourceStage,
  type TransformStage,
} from '../packages/core/src/index.js';

const RATE = 24000;
const SECONDS = 60;
const FRAMES = RATE * SECONDS;
const ROUNDS = 5;

const pcm = Float32Array.from({ length: FRAMES }, (_, i) => 0.5 * Math.sin(i / 7));
const pcmChunks = (frames: number, channels = 1): PcmChunk[] => {
  const out: PcmChunk[] = [];
  for (let i = 0; i < FRAMES; i += frames) {
    const part = pcm.subarray(i, i + frames);
    out.push({ sampleRate: RATE, channels: Array.from({ length: channels }, () => part.slice()) });
  }
  return out;
};
/** The same chunks with a word mark every 300 ms (7,200 frames) on the sample where it falls. */
const marked = (chunks: PcmChunk[]): PcmChunk[] => {
  let offset = 0;
  return chunks.map((chunk) => {
    const frames = chunk.channels[0].length;
    const first = Math.ceil(offset / 7200) * 7200;
    const marks = [];
    for (let at = first; at < offset + frames; at += 7200) marks.push({ frame: at - offset, duration: 0.25, text: 'word', charStart: 0, charEnd: 4 });
    offset += frames;
    return marks.length > 0 ? { ...chunk, marks } : chunk;
  });
};
const s16 = new Uint8Array(new Int16Array(FRAMES).map((_, i) => Math.round(pcm[i] * 32767)).buffer);
const byteChunks = (size: number): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (let i = 0; i < s16.byteLength; i += size) out.push(s16.subarray(i, i + size));
  return out;
};

/** The chunks from memory, `times` over (stages never write what they are given, so the same chunks serve again). */
function source<T>(chunks: T[], gives: Format, times = 1): SourceStage<T> {
  return {
    role: 'source',
    name: 'memory',
    gives,
    open: () => {
      let i = 0;
      const total = chunks.length * times;
      return new ReadableStream<T>({ pull: (c) => (i < total ? c.enqueue(chunks[i++ % chunks.length]) : c.close()) }, { highWaterMark: 0 });
    },
  };
}
const nullSink = (kind: 'pcm' | 'bytes'): SinkStage<unknown, void> => ({
  role: 'sink',
  name: 'null',
  takes: { kind },
  open: () => ({ sink: {}, result: () => undefined }),
});
/** The same sink measuring its chunks (a strategy with `size`): the synchronous stages before it keep one TransformStream of their own. */
const measuringSink = (kind: 'pcm' | 'bytes'): SinkStage<unknown, void> => ({
  ...nullSink(kind),
  open: () => ({ sink: {}, strategy: { highWaterMark: 1, size: () => 1 }, result: () => undefined }),
});
const identity = transformStage<unknown, unknown>({ name: 'identity', takes: anyPcm, gives: (f) => f, transformer: () => ({}) });

/** Best wall-clock ms and best CPU ms (user + system: what a busy machine disturbs less) over the rounds. */
async function timeIt(make: () => AnyStage[]): Promise<{ wall: number; cpu: number }> {
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const stages = make();
    const start = performance.now();
    const used = process.cpuUsage();
    await assemble(...(stages as [AnyStage, ...AnyStage[], SinkStage<unknown, void>])).run().done;
    const spent = process.cpuUsage(used);
    wall = Math.min(wall, performance.now() - start);
    cpu = Math.min(cpu, (spent.user + spent.system) / 1000);
  }
  return { wall, cpu };
}

const pcmIn: Format = { kind: 'pcm', sampleRate: RATE, channels: 1 };
const rawIn: Format = { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: RATE, channels: 1 };
const cases: Array<[string, () => AnyStage[]]> = [
  ['identity TransformStream (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), identity, nullSink('pcm')]],
  ['pcmDecode s16le (960-byte chunks)', () => [source(byteChunks(960), rawIn), pcmDecode(), nullSink('pcm')]],
  ['pcmDecode s16le (4097-byte odd chunks)', () => [source(byteChunks(4097), rawIn), pcmDecode(), nullSink('pcm')]],
  ['pcmEncode s16le (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), pcmEncode(), nullSink('bytes')]],
  ['pcmEncode f32le (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), pcmEncode({ encoding: 'f32le' }), nullSink('bytes')]],
  ['mix 1 → 2 (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), mix({ channels: 2 }), nullSink('pcm')]],
  ['mix 2 → 1 (20 ms chunks)', () => [source(pcmChunks(480, 2), { ...pcmIn, channels: 2 }), mix({ channels: 1 }), nullSink('pcm')]],
  ['frames 20 ms (from 7 ms chunks)', () => [source(pcmChunks(168), pcmIn), frames({ ms: 20 }), nullSink('pcm')]],
  ['fade in 10 / out 50 ms (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), fade({ inMs: 10, outMs: 50 }), nullSink('pcm')]],
  ['gain −6 dB (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), gain({ db: -6 }), nullSink('pcm')]],
  ['resample 24 → 48 kHz fast (20 ms chunks)', () => [source(pcmChunks(480), pcmIn), resample({ rate: 48000, quality: 'fast' }), nullSink('pcm')]],
  ['frames 20 ms, marked (from 7 ms chunks)', () => [source(marked(pcmChunks(168)), pcmIn), frames({ ms: 20 }), nullSink('pcm')]],
  ['fade, marked (20 ms chunks)', () => [source(marked(pcmChunks(480)), pcmIn), fade({ inMs: 10, outMs: 50 }), nullSink('pcm')]],
  ['mix 1 → 2, marked (20 ms chunks)', () => [source(marked(pcmChunks(480)), pcmIn), mix({ channels: 2 }), nullSink('pcm')]],
  ['gain −6 dB, marked (20 ms chunks)', () => [source(marked(pcmChunks(480)), pcmIn), gain({ db: -6 }), nullSink('pcm')]],
  ['resample 24 → 48 kHz fast, marked', () => [source(marked(pcmChunks(480)), pcmIn), resample({ rate: 48000, quality: 'fast' }), nullSink('pcm')]],
];

// `npx tsx bench/pcm-stages.ts chain` runs the chain's part alone
if (process.argv[2] !== 'chain') {
  console.log(`${SECONDS} s of ${RATE} Hz audio, best of ${ROUNDS} runs\n`);
  console.log(`${'stage'.padEnd(42)} ${'ms'.padStart(8)} ${'× real time'.padStart(12)} ${'CPU ms'.padStart(8)}`);
  for (const [name, make] of cases) {
    const { wall, cpu } = await timeIt(make);
    console.log(`${name.padEnd(42)} ${wall.toFixed(1).padStart(8)} ${Math.round((SECONDS * 1000) / wall).toLocaleString('en').padStart(12)} ${cpu.toFixed(1).padStart(8)}`);
  }
}

// The five-stage chain, per real-time stream. CPU time (user + system) of this
// process over the run, so other processes on a busy machine count little.
// Each round is ten minutes of audio (the same 60 s of chunks ten times over),
// long enough that its share of garbage collection lands in it rather than
// in one round of five; the cases take turns round by round, each round in
// another order, so the garbage one leaves is collected during each of the
// others alike (a forced collection before each run would shrink the young
// generation and inflate them all); typical is the median of a case's
// rounds, worst its slowest.
const CHAIN_ROUNDS = 9;
const CHAIN_TIMES = 10;
const CHAIN_SECONDS = SECONDS * CHAIN_TIMES;
const chainInput = pcmChunks(480);
const unfused = (stage: TransformStage): TransformStage => ({ ...stage, syncTransformer: undefined });
const chain = () => [gain({ db: -6 }), mix({ channels: 2 }), fade({ inMs: 10, outMs: 50 }), meter({ every: 100 }), pcmEncode()] as TransformStage[];
const bare = (n: number) => Array.from({ length: n }, () => identity as TransformStage);
const UNFUSED = '5 stages, unfused (5 TransformStreams)';
const BARE = '1 bare TransformStream';
const chainCases: Array<[string, () => AnyStage[]]> = [
  ['no stage (source → sink)', () => [source(chainInput, pcmIn, CHAIN_TIMES), nullSink('pcm')]],
  [BARE, () => [source(chainInput, pcmIn, CHAIN_TIMES), ...bare(1), nullSink('pcm')]],
  ['5 bare TransformStreams', () => [source(chainInput, pcmIn, CHAIN_TIMES), ...bare(5), nullSink('pcm')]],
  [UNFUSED, () => [source(chainInput, pcmIn, CHAIN_TIMES), ...chain().map(unfused), nullSink('bytes')]],
  ['5 stages, fused (1 TransformStream)', () => [source(chainInput, pcmIn, CHAIN_TIMES), ...chain(), measuringSink('bytes')]],
  ['5 stages, in the sink’s writes (no stream)', () => [source(chainInput, pcmIn, CHAIN_TIMES), ...chain(), nullSink('bytes')]],
];
async function cpuOf(make: () => AnyStage[]): Promise<number> {
  const stages = make();
  const before = process.cpuUsage();
  await assemble(...(stages as [AnyStage, ...AnyStage[], SinkStage<unknown, void>])).run().done;
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const rounds = new Map<string, number[]>(chainCases.map(([name]) => [name, []]));
for (let r = 0; r < CHAIN_ROUNDS; r++) {
  for (let k = 0; k < chainCases.length; k++) {
    const [name, make] = chainCases[(k + r) % chainCases.length];
    rounds.get(name)!.push(await cpuOf(make));
  }
}

console.log(`\ngain → mix (1 → 2) → fade → meter → pcmEncode, 20 ms chunks: cost of one real-time stream, ${CHAIN_ROUNDS} rounds of ${CHAIN_SECONDS} s (CPU time)\n`);
console.log(`${'chain'.padEnd(44)} ${'% of a core'.padStart(12)} ${'worst'.padStart(8)} ${'streams/core'.padStart(13)} ${'vs unfused'.padStart(11)} ${'vs 1 bare'.padStart(10)}`);
const typical = (name: string) => {
  const sorted = [...rounds.get(name)!].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], worst: sorted[sorted.length - 1] };
};
const percent = (ms: number) => `${((100 * ms) / (CHAIN_SECONDS * 1000)).toFixed(3)} %`;
for (const [name] of chainCases) {
  const { median, worst } = typical(name);
  const ratio = name.startsWith('5 stages') ? `${(typical(UNFUSED).median / median).toFixed(2)}×` : '';
  const perBare = `${(median / typical(BARE).median).toFixed(2)}×`;
  console.log(`${name.padEnd(44)} ${percent(median).padStart(12)} ${percent(worst).padStart(8)} ${Math.round((CHAIN_SECONDS * 1000) / median).toLocaleString('en').padStart(13)} ${ratio.padStart(11)} ${perBare.padStart(10)}`);
}

// A short answer pays its run's setup too: the same chain over 10 s of audio
// (500 chunks), a fresh run each time, 40 runs a round, setup included; and
// a run of one chunk for the setup alone.
const ANSWER_CHUNKS = 500;
async function answers(runs: number, chunks: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < runs; i++) await assemble(source(chainInput.slice(0, chunks), pcmIn), ...chain(), nullSink('bytes')).run().done;
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / runs;
}
const answerMs: number[] = [];
const setupMs: number[] = [];
for (let r = 0; r < 5; r++) {
  answerMs.push(await answers(40, ANSWER_CHUNKS));
  setupMs.push(await answers(200, 1));
}
const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const answerSeconds = (ANSWER_CHUNKS * 480) / RATE;
console.log(
  `\na ${answerSeconds} s answer through the chain, its run's setup included (5 rounds of 40): ${mid(answerMs).toFixed(2)} ms CPU = ${((100 * mid(answerMs)) / (answerSeconds * 1000)).toFixed(3)} % of a core over its ${answerSeconds} s (worst round ${((100 * Math.max(...answerMs)) / (answerSeconds * 1000)).toFixed(3)} %); a run's setup alone (one chunk): ${mid(setupMs).toFixed(2)} ms`,
);
