// Core pipeline overhead: a 5-stage voxpipe pipeline against 5 bare identity
// TransformStreams in the same run, and the cost of a real 5-stage PCM chain
// per real-time 24 kHz stream. Run: npx tsx bench/pipeline.ts
import {
  anyPcm,
  assemble,
  fade,
  gain,
  meter,
  mix,
  pcmEncode,
  ReadableStream,
  transformStage,
  WritableStream,
  type AnyStage,
  type PcmChunk,
  type SinkStage,
  type SourceStage,
} from '@voxpipe/core';

const RATE = 24000;
const CHUNK_FRAMES = 480; // 20 ms
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 50_000);
const DEPTH = 5;
const chunk: PcmChunk = { sampleRate: RATE, channels: [Float32Array.from({ length: CHUNK_FRAMES }, (_, i) => Math.sin(i / 10) * 0.5)] };

function chunkSource(): SourceStage<PcmChunk> {
  return {
    role: 'source',
    name: 'chunks',
    gives: { kind: 'pcm', sampleRate: RATE, channels: 1 },
    open: () => bareSource(),
  };
}

function bareSource(): ReadableStream<PcmChunk> {
  let left = CHUNKS;
  return new ReadableStream<PcmChunk>({ pull: (c) => (left-- > 0 ? c.enqueue(chunk) : c.close()) }, { highWaterMark: 0 });
}

function nullSink(kind: 'pcm' | 'bytes'): SinkStage<unknown, number> {
  return {
    role: 'sink',
    name: 'null',
    takes: { kind },
    open: () => {
      let n = 0;
      return { sink: { write: () => void n++ }, result: () => n };
    },
  };
}

const identity = () =>
  transformStage<PcmChunk, PcmChunk>({ name: 'identity', takes: anyPcm, gives: (f) => f, transformer: () => ({ transform: (c, out) => out.enqueue(c) }) });

async function bare(): Promise<void> {
  let readable: ReadableStream<PcmChunk> = bareSource();
  for (let i = 0; i < DEPTH; i++) readable = readable.pipeThrough(new TransformStream<PcmChunk, PcmChunk>());
  await readable.pipeTo(new WritableStream({ write() {} }));
}

async function voxpipeIdentity(): Promise<void> {
  const stages: AnyStage[] = [chunkSource(), ...Array.from({ length: DEPTH }, identity), nullSink('pcm')];
  await assemble(...(stages as [AnyStage, ...AnyStage[], SinkStage<unknown, number>])).run().done;
}

async function voxpipeReal(): Promise<void> {
  await assemble(chunkSource(), gain({ db: -3 }), mix({ channels: 1 }), fade({ inMs: 10 }), meter(), pcmEncode({ encoding: 's16le' }), nullSink('bytes')).run().done;
}

async function time(fn: () => Promise<void>, repeats = 5): Promise<number> {
  await fn(); // warm
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const bareMs = await time(bare);
const identityMs = await time(voxpipeIdentity);
const realMs = await time(voxpipeReal);
const audioSeconds = (CHUNKS * CHUNK_FRAMES) / RATE;
const row = (name: string, ms: number) => {
  const perChunkStageUs = (ms * 1000) / CHUNKS / DEPTH;
  const streamsPerCore = audioSeconds / (ms / 1000);
  return `${name.padEnd(40)} ${((CHUNKS / ms) * 1000).toFixed(0).padStart(10)} ${perChunkStageUs.toFixed(3).padStart(12)} ${(ms / bareMs).toFixed(3).padStart(8)} ${streamsPerCore.toFixed(0).padStart(14)}`;
};
console.log(`core pipeline: ${CHUNKS} chunks of 20 ms at 24 kHz mono (${audioSeconds.toFixed(0)} s of audio), depth ${DEPTH}, median of 5`);
console.log(`${'pipeline'.padEnd(40)} ${'chunks/s'.padStart(10)} ${'µs/chunk/stg'.padStart(12)} ${'× bare'.padStart(8)} ${'RT streams/core'.padStart(14)}`);
console.log(row('bare identity TransformStreams', bareMs));
console.log(row('voxpipe assemble(), identity stages', identityMs));
console.log(row('voxpipe gain→mix→fade→meter→pcmEncode', realMs));
console.log(`assembly overhead: ${(identityMs / bareMs).toFixed(3)}× bare (target ≤ 1.10×)`);
console.log(`real 5-stage chain: ${((realMs / 1000 / audioSeconds) * 100).toFixed(4)}% of a core per real-time stream (a lighter chain than bench/pcm-stages.ts chain, whose figure the README holds to ≤ 0.05 %)`);
