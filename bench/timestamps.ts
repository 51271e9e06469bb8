// With-timestamps against the plain stream: the same bodies to POST
// /v1/tts/stream and /v1/tts/stream/with-timestamps on one server (its own
// process, bench/support/load-server.ts), in alternating batches in the same
// run. Per batch: the server's CPU time per stream (main thread + engine
// workers, from /proc). Then pairs of streams, one to each endpoint back to
// back (which goes first alternates): each stream's time to first byte (and,
// for with-timestamps, to its first audio line), and the pair's difference,
// so the machine's drift cancels. Prints typical (median of the batches / of
// the pairs) beside worst, against the targets: ≤ 5 % more server CPU per
// stream, ≤ 1 ms more TTFB.
// Run: npx tsx bench/timestamps.ts   (TIMESTAMPS_ROUNDS batches per endpoint and body, default 6;
// TIMESTAMPS_STREAMS streams per batch, default 10; TIMESTAMPS_PAIRS, default 30)
//
// Streams run one at a time and are read as fast as they come, so a batch's CPU is its streams' alone.
// On a busy machine a stream's TTFB varies by tens of ms, far more than the 1 ms target, so the work
// with-timestamps adds before its first line is also timed alone, in this process: the words of the
// engine's first chunk taken, and the first line (words and audio) made from its first encoded bytes;
// and so is all the work it adds to a stream (every word taken and placed, every line made from the
// plain stream's very bytes), in CPU time, against the plain stream's server CPU.
import { fork, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ReadableStream } from '../packages/core/src/index.js';
import { StreamWords } from '../packages/server/src/stream-words.js';
import { timestampedLines } from '../packages/server/src/timestamped-lines.js';

const ROUNDS = Number(process.env.TIMESTAMPS_ROUNDS ?? 6);
const STREAMS = Number(process.env.TIMESTAMPS_STREAMS ?? 10);
const PAIRS = Number(process.env.TIMESTAMPS_PAIRS ?? 30);
const TEXT = 'Streaming speech lets a listener hear the start of an answer while the rest is still being made. Every word comes with its time.';
const BODIES = [
  { name: 'aura-lite pcm', body: { text: TEXT, voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' } },
  { name: 'aura-lite mp3', body: { text: TEXT, voice: 'Anna', language: 'en-US', model: 'aura-lite', format: 'mp3' } },
  { name: 'rapid-flash mp3 speed 1.3 pitch 2', body: { text: TEXT, voice: 'Emma', language: 'en-US', model: 'rapid-flash', format: 'mp3', speed: 1.3, pitch: 2 } },
];
const PATHS = { plain: '/v1/tts/stream', timestamps: '/v1/tts/stream/with-timestamps' } as const;
type Kind = keyof typeof PATHS;

interface Sample {
  cpu: { mainS: number; otherS: number };
}

const child: ChildProcess = fork(join(import.meta.dirname, 'support', 'load-server.ts'), [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, LOAD_WORKERS: process.env.LOAD_WORKERS ?? '2' },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await new Promise<{ url: string }>((resolve) => child.once('message', (m) => resolve(m as { url: string })));
const sample = () =>
  new Promise<Sample>((resolve) => {
    child.once('message', (m) => resolve(m as Sample));
    child.send({ type: 'sample' });
  });

/** One stream, read to its end: ms to its first byte and (with-timestamps) to its first whole audio line. */
function stream(kind: Kind, body: object, keep?: Buffer[]): Promise<{ firstByteMs: number; firstAudioMs: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(`${ready.url}${PATHS[kind]}`, { method: 'POST', agent: false, headers: { 'X-API-Key': 'load-key', 'Content-Type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${PATHS[kind]} answered ${res.statusCode}`));
      let firstByteMs = NaN;
      let firstAudioMs = NaN;
      let bytes = 0;
      let text = '';
      res.on('data', (chunk: Buffer) => {
        const now = performance.now() - started;
        if (Number.isNaN(firstByteMs)) firstByteMs = now;
        bytes += chunk.byteLength;
        keep?.push(chunk);
        if (kind === 'plain') firstAudioMs = firstByteMs;
        else if (Number.isNaN(firstAudioMs)) {
          text += chunk.toString('latin1');
          if (/\{"audio":"[^"]*"\}\n/.test(text)) firstAudioMs = now;
        }
      });
      res.on('end', () => resolve({ firstByteMs, firstAudioMs, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const max = (values: number[]) => Math.max(...values);
const ms = (n: number) => n.toFixed(1);
const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)} %`;

// Warm both paths (engine workers, MP3 encoders, JIT).
for (const { body } of BODIES) for (const kind of ['plain', 'timestamps'] as const) await stream(kind, body);

console.log(`server: 2 engine workers; per body and endpoint ${ROUNDS} batches of ${STREAMS} streams (CPU), then ${PAIRS} back-to-back pairs (TTFB); one stream at a time`);
console.log('body | endpoint | server CPU ms/stream: typical / worst batch | TTFB ms: p50 / worst | first audio ms: p50 / worst');
const summary: string[] = [];
const added: string[] = [];
for (const { name, body } of BODIES) {
  const cpu: Record<Kind, number[]> = { plain: [], timestamps: [] };
  const ttfb: Record<Kind, number[]> = { plain: [], timestamps: [] };
  const audio: Record<Kind, number[]> = { plain: [], timestamps: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Kind[] = round % 2 === 0 ? ['plain', 'timestamps'] : ['timestamps', 'plain'];
    for (const kind of order) {
      const before = await sample();
      for (let i = 0; i < STREAMS; i++) await stream(kind, body);
      const after = await sample();
      cpu[kind].push(((after.cpu.mainS + after.cpu.otherS - before.cpu.mainS - before.cpu.otherS) * 1000) / STREAMS);
    }
  }
  const ttfbDiff: number[] = [];
  const audioDiff: number[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const order: Kind[] = pair % 2 === 0 ? ['plain', 'timestamps'] : ['timestamps', 'plain'];
    const got: Partial<Record<Kind, { firstByteMs: number; firstAudioMs: number }>> = {};
    for (const kind of order) {
      const result = await stream(kind, body);
      got[kind] = result;
      ttfb[kind].push(result.firstByteMs);
      audio[kind].push(result.firstAudioMs);
    }
    ttfbDiff.push(got.timestamps!.firstByteMs - got.plain!.firstByteMs);
    audioDiff.push(got.timestamps!.firstAudioMs - got.plain!.firstAudioMs);
  }
  const kept: Buffer[] = [];
  await stream('plain', body, kept);
  const audioBytes = new Uint8Array(Buffer.concat(kept));
  const format = body.format as 'pcm' | 'mp3';
  const seconds = format === 'pcm' ? audioBytes.byteLength / 48000 : (audioBytes.byteLength / 144) * (576 / 24000);
  const extra = await addedCpuMs(format, audioBytes, seconds);
  added.push(`${name}: ${extra.toFixed(2)} ms CPU for ${seconds.toFixed(1)} s of audio = ${((extra / median(cpu.plain)) * 100).toFixed(2)} % of the plain stream's ${ms(median(cpu.plain))} ms`);
  for (const kind of ['plain', 'timestamps'] as const) {
    console.log(`${name} | ${kind} | ${ms(median(cpu[kind]))} / ${ms(max(cpu[kind]))} | ${ms(median(ttfb[kind]))} / ${ms(max(ttfb[kind]))} | ${ms(median(audio[kind]))} / ${ms(max(audio[kind]))}`);
  }
  summary.push(
    `${name}: CPU ${pct(median(cpu.timestamps), median(cpu.plain))} typical, ${pct(max(cpu.timestamps), max(cpu.plain))} worst (target ≤ +5 %); ` +
      `TTFB ${median(ttfbDiff).toFixed(2)} ms (median of pairs; worst pair ${max(ttfbDiff).toFixed(1)}, p50 ${ms(median(ttfb.timestamps))} against ${ms(median(ttfb.plain))}; target ≤ +1 ms); ` +
      `first audio ${median(audioDiff).toFixed(2)} ms (median of pairs)`,
  );
}
/** µs of work with-timestamps adds before the first byte: taking the first chunk's words, making the first line. */
async function firstLineMicros(format: 'pcm' | 'mp3', audioBytes: number): Promise<number[]> {
  const chunk = { sampleRate: 22050, channels: [new Float32Array(2206)], marks: [0, 1500].map((frame, i) => ({ frame, duration: 0.3, text: i ? 'speech' : 'Streaming', charStart: i ? 10 : 0, charEnd: i ? 16 : 9 })) };
  const bytes = new Uint8Array(audioBytes).map((_, i) => i * 7);
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const n = 2000;
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const words = new StreamWords(format, 22050);
      words.add(chunk);
      const audio = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(bytes) });
      const reader = timestampedLines(audio, words, { firstByte: 0 }).getReader();
      await reader.read();
      await reader.cancel();
    }
    rounds.push(((performance.now() - started) * 1000) / n);
  }
  return rounds;
}
const micro = { pcm: await firstLineMicros('pcm', 4800), mp3: await firstLineMicros('mp3', 418) };

/** CPU ms with-timestamps adds to one stream of these audio bytes: a word every 300 ms taken and placed, every line made (median of 20, warm). */
async function addedCpuMs(format: 'pcm' | 'mp3', audio: Uint8Array, seconds: number): Promise<number> {
  const frames = Math.round(seconds * 22050);
  const chunks: Array<{ sampleRate: number; channels: Float32Array[]; marks: Array<{ frame: number; duration: number; text: string; charStart: number; charEnd: number }> }> = [];
  for (let at = 0, word = 0; at < frames; at += 2206) {
    const marks = [];
    for (; Math.round(word * 0.3 * 22050) < Math.min(frames, at + 2206); word++) marks.push({ frame: Math.round(word * 0.3 * 22050) - at, duration: 0.25, text: 'word', charStart: 5 * word, charEnd: 5 * word + 4 });
    chunks.push({ sampleRate: 22050, channels: [new Float32Array(Math.min(2206, frames - at))], marks });
  }
  const piece = format === 'pcm' ? 4412 : 418;
  const runs: number[] = [];
  // The first 20 warm the JIT (a server that has served a few streams is warm); the next 20 are timed.
  for (let run = 0; run < 40; run++) {
    const before = process.cpuUsage();
    const words = new StreamWords(format, 22050);
    for (const chunk of chunks) words.add(chunk);
    words.end();
    let at = 0;
    const bytes = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= audio.byteLength) return c.close();
        c.enqueue(audio.subarray(at, at + piece));
        at += piece;
      },
    });
    const reader = timestampedLines(bytes, words, { firstByte: 0 }).getReader();
    while (!(await reader.read()).done);
    const used = process.cpuUsage(before);
    if (run >= 20) runs.push((used.user + used.system) / 1000);
  }
  return median(runs);
}

console.log('\nwith-timestamps against plain, same bodies, same run:');
for (const line of summary) console.log(`  ${line}`);
console.log('  all the work with-timestamps adds to a stream, timed alone (median of 20 warm runs, CPU time):');
for (const line of added) console.log(`    ${line} (target ≤ 5 %)`);
console.log(
  `  work added before the first byte, timed alone (5 rounds of 2000): pcm ${ms(median(micro.pcm))} µs typical, ${ms(max(micro.pcm))} µs worst; ` +
    `mp3 ${ms(median(micro.mp3))} µs typical, ${ms(max(micro.mp3))} µs worst (target ≤ 1000 µs)`,
);
console.log('(CPU from /proc ticks of 10 ms, summed over a batch; on a shared machine, run twice and compare.)');

child.send({ type: 'close' });
