// Node sinks: how much faster than real time wavFile writes 24 kHz speech to
// disk (against a bare fs.WriteStream of the same bytes), what the Node
// stream bridge (toNodeReadable) costs per chunk, and play() feeding a
// player process (`sox … /dev/null` when sox is installed: a real pipe, no device).
// wavFile and the bare WriteStream run alternately, best of 3 each.
// Run: npx tsx bench/node-sinks.ts
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline as nodePipeline } from 'node:stream/promises';
import { pipeline, ReadableStream, WritableStream, type PcmChunk, type SourceStage } from '@voxpipe/core';
import { play, toNodeReadable, wavFile } from '@voxpipe/node';

const RATE = 24000;
const FRAMES = 480; // 20 ms chunks, as a TTS server sends them
const MINUTES = Number(process.env.BENCH_MINUTES ?? 10);
const CHUNKS = (MINUTES * 60 * 1000) / 20;
const chunk: PcmChunk = { sampleRate: RATE, channels: [Float32Array.from({ length: FRAMES }, (_, i) => Math.sin(i / 7) * 0.5)] };
const audioSeconds = (n: number) => (n * FRAMES) / RATE;

function chunks(n = CHUNKS): SourceStage<PcmChunk> {
  return {
    role: 'source',
    name: 'chunks',
    gives: { kind: 'pcm', sampleRate: RATE, channels: 1 },
    open: () => {
      let left = n;
      return new ReadableStream<PcmChunk>({ pull: (c) => (left-- > 0 ? c.enqueue(chunk) : c.close()) }, { highWaterMark: 0 });
    },
  };
}

function s16(c: PcmChunk): Uint8Array {
  const out = new Int16Array(c.channels[0].length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(c.channels[0][i] * 32768)));
  return new Uint8Array(out.buffer);
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

const dir = await mkdtemp(join(tmpdir(), 'voxpipe-bench-'));
try {
  const wavRun = () => time(() => pipeline(chunks(), wavFile(join(dir, 'a.wav'))).done);
  const bareRun = () => time(async () => {
    const out = createWriteStream(join(dir, 'b.raw'));
    const source = new ReadableStream<PcmChunk>({
      pull: (() => {
        let left = CHUNKS;
        return (c: ReadableStreamDefaultController<PcmChunk>) => (left-- > 0 ? c.enqueue(chunk) : c.close());
      })(),
    });
    await source.pipeTo(
      new WritableStream<PcmChunk>({
        write: (c) => new Promise<void>((resolve) => (out.write(s16(c)) ? resolve() : out.once('drain', resolve))),
        close: () => new Promise<void>((resolve) => out.end(resolve)),
      }),
    );
  });
  // Alternating, best of 3 each, so a busy moment on the machine hits both alike.
  let wav = Infinity;
  let bare = Infinity;
  for (let round = 0; round < 3; round++) {
    wav = Math.min(wav, await wavRun());
    bare = Math.min(bare, await bareRun());
  }
  const secs = audioSeconds(CHUNKS);
  console.log(`wavFile          ${MINUTES} min of 24 kHz mono in ${wav.toFixed(2)} s: ${(secs / wav).toFixed(0)}× real time, ${((wav * 1e6) / CHUNKS).toFixed(1)} µs per 20 ms chunk`);
  console.log(`bare WriteStream same bytes in ${bare.toFixed(2)} s: ${(secs / bare).toFixed(0)}× real time  (wavFile/bare time ratio ${(wav / bare).toFixed(2)})`);

  const viaNode = await time(() =>
    nodePipeline(toNodeReadable(chunks()), new Writable({ objectMode: true, write: (_c, _e, cb) => cb() })),
  );
  const direct = await time(() => pipeline(chunks(), { role: 'sink', name: 'drop', takes: { kind: 'pcm' }, open: () => ({ sink: {}, result: () => 0 }) }).done);
  console.log(
    `toNodeReadable   ${CHUNKS} chunks in ${viaNode.toFixed(2)} s (${((viaNode * 1e6) / CHUNKS).toFixed(1)} µs/chunk) vs a voxpipe sink ${direct.toFixed(2)} s (${((direct * 1e6) / CHUNKS).toFixed(1)} µs/chunk)`,
  );

  let sox = false;
  try {
    execFileSync('sh', ['-c', 'command -v sox'], { stdio: 'ignore' });
    sox = true;
  } catch {}
  if (sox) {
    const n = CHUNKS / 10;
    const args = ['-q', '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-r', '{rate}', '-c', '{channels}', '-', '-t', 's16', '/dev/null'];
    const run = pipeline(chunks(n), play({ player: 'sox', args, replaceArgs: true }));
    const t = await time(() => run.done);
    console.log(
      `play → sox       ${(audioSeconds(n) / 60).toFixed(0)} min of audio through a pipe in ${t.toFixed(2)} s: ${(audioSeconds(n) / t).toFixed(0)}× real time; playback-start after ${run.metrics.playbackStartMs?.toFixed(1)} ms`,
    );
  } else {
    console.log('play → sox       skipped (sox not installed)');
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
