// Codecs: Ogg Opus decoding speed and first-page latency, decoders loaded on
// demand (time from first byte to first PCM in a fresh process, before and
// after), and the bytes per second of the server's pcm, mp3 and opus streams.
//  1. Opus decode speed: 60 s of 24 kHz mono speech-like audio as the server
//     encodes it (oggOpusEncode, 32 kbit/s), through `decode()` in 16 KiB
//     pieces, against the bare opus-decoder (libopus WASM) on the same packets,
//     ffmpeg decoding the same file (a process each), and `decode()` on the
//     same audio as the server's 48 kbit/s MP3. Best of 5, decoder loaded.
//  2. First PCM after the first complete page: the headers, then the first
//     audio page written to a running `decode()`; the clock runs from that
//     write to its PCM. 50 streams, decoder module loaded.
//  3. Cold start, a fresh Node process per sample: a source declares the
//     format (as a response's headers do), its first byte comes `gap` ms
//     later; time from that byte to the first PCM. "before": the decoder's
//     module is imported when the process starts (as decode.ts did statically
//     before on-demand loading); "on demand": `decode()` imports it itself
//     when the format is declared.
//  4. Bytes per second of audio of each format from the reference server
//     (espeak engine), one sentence-rich text.
// Run: npx tsx bench/codecs.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from '../packages/codecs/src/decode.js';
import { OggPacketReader, readOggPageHeader } from '../packages/codecs/src/ogg-page.js';
import { OpusDecoder } from '../packages/codecs/src/opus-decoder.js'; // opus-decoder, as the codecs package resolves it
import { encodeMp3 } from '../packages/codecs/src/testing/fixtures.js';
import { anyBytes, collect, fromBytes, pipeline, ReadableStream, type PcmChunk, type SourceStage } from '../packages/core/src/index.js';
import { joinBytes, runTransform, testContext } from '../packages/core/src/testing/index.js';
import { createEspeakEngine } from '../packages/engine-espeak/src/index.js';
import { createServer } from '../packages/server/src/index.js';
import { oggOpusEncode } from '../packages/server/src/ogg-opus-encode.js';

const here = dirname(fileURLToPath(import.meta.url));

// ---- child: one cold sample ------------------------------------------------
if (process.argv[2] === '--cold') {
  const [, , , mode, container, file, gap] = process.argv;
  const bytes = new Uint8Array(readFileSync(file));
  if (mode === 'before') await import(container === 'mp3' ? '../packages/codecs/src/mp3-decoder.js' : '../packages/codecs/src/opus-decoder.js');
  let firstByteAt = 0;
  const source: SourceStage<Uint8Array> = {
    role: 'source',
    name: 'response',
    gives: anyBytes,
    open(ctx) {
      ctx.declare({ kind: 'bytes', container: container as 'mp3' | 'opus' }); // the headers
      let at = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (at === 0) {
            await new Promise((r) => setTimeout(r, Number(gap)));
            firstByteAt = performance.now();
          }
          if (at >= bytes.byteLength) return controller.close();
          controller.enqueue(bytes.subarray(at, at + 4096));
          at += 4096;
        },
      });
    },
  };
  const run = pipeline(source, decode(), collect());
  await run.events.once('first-audio');
  const ms = performance.now() - firstByteAt;
  await run.done;
  process.stdout.write(JSON.stringify({ ms }));
  process.exit(0);
}

// ---- fixtures -------------------------------------------------------------
const RATE = 24000;
const SECONDS = 60;
/** Speech-like: a gliding voiced tone with harmonics, syllable-rate loudness, short pauses. */
const speechLike: PcmChunk = {
  sampleRate: RATE,
  channels: [
    Float32Array.from({ length: RATE * SECONDS }, (_, i) => {
      const t = i / RATE;
      const f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.7 * t);
      const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) * (Math.sin(2 * Math.PI * 0.25 * t) > -0.8 ? 1 : 0);
      let x = 0;
      for (let h = 1; h <= 8; h++) x += Math.sin(2 * Math.PI * f0 * h * t) / h;
      return 0.25 * syllable * x;
    }),
  ],
};
const opus = joinBytes(await runTransform(oggOpusEncode({ bitrate: 32 }), [speechLike], { kind: 'pcm', sampleRate: RATE, channels: 1 }));
const mp3 = await encodeMp3(speechLike, { bitrate: 48 });
const dir = mkdtempSync(join(tmpdir(), 'voxpipe-bench-codecs-'));
writeFileSync(join(dir, 'speech.opus'), opus);
writeFileSync(join(dir, 'speech.mp3'), mp3);
const pieces = (bytes: Uint8Array, size = 16384) => Array.from({ length: Math.ceil(bytes.byteLength / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));

async function decodeAll(bytes: Uint8Array, container: 'opus' | 'mp3'): Promise<number> {
  const { value } = await pipeline(fromBytes(pieces(bytes), { format: { kind: 'bytes', container } }), decode(), collect()).done;
  return value!.pcm!.channels[0].length;
}

async function bareOpus(): Promise<number> {
  const packets = new OggPacketReader().push(opus).slice(2);
  const decoder = new OpusDecoder({ channels: 1, sampleRate: 24000, preSkip: 156 });
  await decoder.ready;
  let frames = 0;
  for (const packet of packets) frames += decoder.decodeFrame(packet.data).samplesDecoded;
  decoder.free();
  return frames;
}

function hasFfmpeg(): boolean {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Best and worst of `rounds` timings of each case, every case once per round (a busy spell falls on all alike). */
async function timings(cases: Array<() => Promise<unknown> | unknown>, rounds = 5): Promise<Array<{ best: number; worst: number }>> {
  const out = cases.map(() => ({ best: Infinity, worst: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const t = performance.now();
      await cases[i]();
      const ms = performance.now() - t;
      out[i].best = Math.min(out[i].best, ms);
      out[i].worst = Math.max(out[i].worst, ms);
    }
  }
  return out;
}

const fmt = (x: number, digits = 1) => x.toFixed(digits).padStart(8);

// ---- 1. speed ---------------------------------------------------------------
await decodeAll(opus, 'opus'); // loads and starts the decoders once, as a page's first stream would
await decodeAll(mp3, 'mp3');
const ffmpeg = hasFfmpeg();
const names = ['decode() Ogg Opus 32 kbit/s', 'opus-decoder by hand (peer), same packets', 'decode() MP3 48 kbit/s, same audio', ...(ffmpeg ? ['ffmpeg -i speech.opus (peer, a process)'] : [])];
const speed = await timings([
  () => decodeAll(opus, 'opus'),
  () => bareOpus(),
  () => decodeAll(mp3, 'mp3'),
  ...(ffmpeg ? [() => execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'speech.opus'), '-f', 'f32le', '-'], { maxBuffer: 1 << 28 })] : []),
]);
console.log(`1. Decoding ${SECONDS} s of 24 kHz mono speech-like audio (best / worst of 5; × real time from the best)\n`);
console.log('   case                                            best ms  worst ms   × real time');
names.forEach((name, i) => console.log(`   ${name.padEnd(46)}${fmt(speed[i].best)}  ${fmt(speed[i].worst)}  ${fmt((SECONDS * 1000) / speed[i].best, 0)}`));
console.log(`\n   decode() Opus / bare opus-decoder: ${(speed[0].best / speed[1].best).toFixed(2)}; Opus / MP3 decode(): ${(speed[0].best / speed[2].best).toFixed(2)}`);

// ---- 2. first PCM after the first complete page ------------------------------
const firstPages: Uint8Array[] = [];
for (let at = 0, n = 0; n < 3; n++) {
  const page = readOggPageHeader(opus, at)!;
  firstPages.push(opus.subarray(at, at + page.pageBytes));
  at += page.pageBytes;
}
const afterPage: number[] = [];
for (let i = 0; i < 50; i++) {
  const ctx = testContext('decode');
  const stream = decode().create(ctx, { kind: 'bytes', container: 'opus' });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let t = 0;
  const first = reader.read().then(() => performance.now() - t); // a reader waiting, as a player's is
  await writer.write(joinBytes(firstPages.slice(0, 2))); // OpusHead and OpusTags
  t = performance.now();
  void writer.write(firstPages[2]); // the first audio page, its last byte included
  afterPage.push(await first);
  await writer.close().catch(() => {});
  ctx.finish();
}
afterPage.sort((a, b) => a - b);
console.log(`\n2. First PCM after the first complete Opus page (50 streams, module loaded): typical ${afterPage[25].toFixed(2)} ms, worst ${afterPage[49].toFixed(2)} ms`);

// ---- 3. cold start ----------------------------------------------------------
const tsx = join(here, '..', 'node_modules', '.bin', 'tsx');
function cold(mode: string, container: string, gap: number): number {
  const file = join(dir, container === 'mp3' ? 'speech.mp3' : 'speech.opus');
  const result = spawnSync(tsx, [fileURLToPath(import.meta.url), '--cold', mode, container, file, String(gap)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cold sample failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { ms: number }).ms;
}
console.log('\n3. Cold: a fresh process per sample; first byte → first PCM (typical / worst of 5)\n');
console.log('   format  gap headers→first byte   before (module at start)   on demand (imported at declare)');
for (const container of ['mp3', 'opus']) {
  for (const gap of [0, 30]) {
    const before: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < 5; i++) {
      before.push(cold('before', container, gap));
      after.push(cold('after', container, gap));
    }
    before.sort((a, b) => a - b);
    after.sort((a, b) => a - b);
    console.log(`   ${container.padEnd(6)}  ${String(gap).padStart(4)} ms               ${fmt(before[2])} / ${fmt(before[4])} ms       ${fmt(after[2])} / ${fmt(after[4])} ms`);
  }
}

// ---- 4. bytes per second from the server --------------------------------------
const engine = createEspeakEngine({ workers: 1 });
const server = createServer({ engine, keys: ['sk-bench'], env: {}, logger: { info() {}, warn() {}, error: (m: string) => console.error(`[server] ${m}`) } });
const listening = await server.listen({ port: 0 });
const text = 'Streaming speech should cost little on the wire. This paragraph has a few sentences, some numbers like 42 and 1999, and a question: does it sound right? It does.';
console.log('\n4. Bytes per second of audio from the server (aura-lite, one paragraph)\n');
let pcmSeconds = 0;
for (const format of ['pcm', 'mp3', 'opus']) {
  const res = await fetch(`${listening.url}/v1/tts/stream`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': 'sk-bench' },
    body: JSON.stringify({ text, voice: 'Emma', language: 'en-US', model: 'aura-lite', format }),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (format === 'pcm') pcmSeconds = bytes.byteLength / (RATE * 2);
  const bps = bytes.byteLength / pcmSeconds;
  console.log(`   ${format.padEnd(5)} ${String(bytes.byteLength).padStart(8)} bytes for ${pcmSeconds.toFixed(2)} s: ${fmt(bps, 0)} B/s (${((bps * 8) / 1000).toFixed(1)} kbit/s), ${((RATE * 2) / bps).toFixed(1)}× smaller than pcm`);
}
await listening.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
