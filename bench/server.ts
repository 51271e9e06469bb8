// Benchmark of the /v1/tts/stream server on loopback with the embedded espeak engine:
// time to first byte (warm, pcm and mp3), concurrent real-time clients, and memory
// after many requests (some aborted mid-stream). Prints figures; asserts nothing.
// Run: npx tsx bench/server.ts   (NODE_OPTIONS=--expose-gc for exact heap figures;
// VOXPIPE_BENCH_REQUESTS=1000 for the 1,000-request memory check)
//
// Every request opens a connection of its own, as separate listeners do. Sharing fetch's keep-alive
// pool, a step's clients reused the previous step's idle connections, and the server (Node's 5 s
// keep-alive timeout, counted from when it finished writing a response a real-time client was still
// reading) could close one just as a new request went out on it: `fetch failed … ECONNRESET`. A client
// that fails anyway is counted and named in its step's line; it does not end the run.
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createEspeakEngine } from '../packages/engine-espeak/src/index.js';
import { createServer } from '../packages/server/src/index.js';

const KEY = 'bench-key';
const BYTES_PER_SECOND = 24000 * 2; // pcm s16le 24 kHz mono
const engine = await createEspeakEngine({ workers: availableParallelism() });
const server = createServer({
  engine,
  keys: [KEY],
  // Warnings and errors go to stderr: a stream the server cuts says why.
  logger: { info() {}, warn: (m: string) => console.error(`[server] ${m}`), error: (m: string) => console.error(`[server] ${m}`) },
  env: {},
  limits: { burst: 100_000, requestsPerSecond: 100_000, concurrentStreamsPerKey: 1000, maxConcurrentStreams: 1000 },
});
const { url, close } = await server.listen({ port: 0 });

/** POSTs on a new connection (no keep-alive pool); the answer as a fetch Response. */
function post(body: object, signal?: AbortSignal): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/tts/stream`, { method: 'POST', agent: false, signal, headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' } }, (res) =>
      resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode })),
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function ttfb(body: object): Promise<{ firstByteMs: number; totalMs: number }> {
  const start = performance.now();
  const response = await post(body);
  const reader = response.body!.getReader();
  let firstByteMs = NaN;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (Number.isNaN(firstByteMs) && value.byteLength > 0) firstByteMs = performance.now() - start;
  }
  return { firstByteMs, totalMs: performance.now() - start };
}

/** Times to first byte of `n` requests made one after another by a client in a process of its own (bench/support/ttfb-client.ts). */
function clientApart(body: object, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'ttfb-client.ts'), JSON.stringify({ url, key: KEY, body, n })], (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout) as number[]),
    );
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const fmt = (n: number) => n.toFixed(1);

// --- time to first byte, warm -------------------------------------------------
const short = { text: 'Hello! This is a short answer from the streaming server.', voice: 'Peter', language: 'en-US' };
for (let i = 0; i < 5; i++) await ttfb({ ...short, model: 'aura-lite', format: 'pcm' });
console.log('# /v1/tts/stream on loopback, espeak engine, %d workers', availableParallelism());
// Measured twice: by a client on the server's own thread (which cannot read its first byte while the server is busy
// with the rest of the answer: with the engine giving a short answer's audio at once, that is encoding all of it), and
// by a client in a process of its own, as a real one.
for (const [model, format] of [['aura-lite', 'pcm'], ['aura-lite', 'mp3'], ['rapid-flash', 'pcm'], ['rapid-flash', 'mp3']] as const) {
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) samples.push((await ttfb({ ...short, model, format })).firstByteMs);
  const apart = await clientApart({ ...short, model, format }, 20);
  console.log(
    `TTFB ${model} ${format}: p50 ${fmt(percentile(apart, 50))} ms, p90 ${fmt(percentile(apart, 90))} ms (client in its own process); ` +
      `p50 ${fmt(percentile(samples, 50))} ms, p90 ${fmt(percentile(samples, 90))} ms (client on the server's thread) (n=20 each, warm)`,
  );
}

// --- concurrent clients reading in real time ----------------------------------
/** One client that plays in real time after a 300 ms prebuffer; whether audio always arrived in time, or why it failed. */
async function realTimeClient(body: object): Promise<{ inTime: boolean; firstByteMs: number; audioS: number; failure?: string }> {
  const start = performance.now();
  const prebufferS = 0.3;
  let received = 0;
  let tFirst = NaN;
  let inTime = true;
  try {
    const response = await post(body);
    if (response.status !== 200) {
      await response.body?.cancel();
      return { inTime: false, firstByteMs: NaN, audioS: 0, failure: `HTTP ${response.status}` };
    }
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      const now = performance.now();
      if (done) break;
      if (Number.isNaN(tFirst)) tFirst = now;
      // Playback started at tFirst + prebuffer: by now it needs (now - tFirst - prebuffer) s of audio.
      const played = (now - tFirst) / 1000 - prebufferS;
      if (received / BYTES_PER_SECOND < played) inTime = false;
      received += value.byteLength;
      // A real-time player reads no further ahead than ~1 s: wait, letting backpressure work.
      const ahead = received / BYTES_PER_SECOND - (now - tFirst) / 1000;
      if (ahead > 1) await new Promise((r) => setTimeout(r, (ahead - 1) * 1000));
    }
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { inTime: false, firstByteMs: tFirst - start, audioS: received / BYTES_PER_SECOND, failure: `${received > 0 ? 'cut mid-stream' : 'no answer'}: ${cause}` };
  }
  return { inTime, firstByteMs: tFirst - start, audioS: received / BYTES_PER_SECOND };
}

const medium = 'Streaming speech lets a listener hear the start of an answer while the rest is still being made. Every client here plays its audio in real time.';
for (const clients of [10, 25, 50]) {
  const results = await Promise.all(
    Array.from({ length: clients }, (_, i) => realTimeClient({ text: medium, voice: i % 2 ? 'Anna' : 'Peter', language: 'en-US', model: i % 3 === 0 ? 'rapid-flash' : 'aura-lite', format: 'pcm' })),
  );
  const inTime = results.filter((r) => r.inTime).length;
  const ttfbs = results.map((r) => r.firstByteMs).filter((ms) => !Number.isNaN(ms));
  const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
  const failed = failures.length ? `; ${failures.length} failed (${[...new Set(failures)].join(', ')})` : '';
  console.log(
    `${clients} concurrent real-time clients: ${inTime}/${clients} (${fmt((100 * inTime) / clients)} %) always faster than real time; ` +
      `TTFB p50 ${fmt(percentile(ttfbs, 50))} ms, p90 ${fmt(percentile(ttfbs, 90))} ms; audio ${fmt((results.find((r) => !r.failure) ?? results[0]).audioS)} s each${failed}`,
  );
}

// --- memory after many requests, a third aborted mid-stream -------------------
const gc = (globalThis as { gc?: () => void }).gc;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
};
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
await settle();
const before = process.memoryUsage();
/** Requests in the memory phase: 300 by default (keeps the run near a minute); the target is 1000. */
const N = Number(process.env.VOXPIPE_BENCH_REQUESTS ?? 300);
let aborted = 0;
let next = 0;
const worker = async () => {
  while (next < N) {
    const i = next++;
    const controller = new AbortController();
    const response = await post({ text: i % 10 ? short.text : medium, voice: 'Peter', language: 'en-US', model: i % 4 === 0 ? 'rapid-flash' : 'aura-lite', format: i % 5 === 0 ? 'mp3' : 'pcm' }, controller.signal);
    const reader = response.body!.getReader();
    if (i % 3 === 0) {
      await reader.read();
      controller.abort();
      aborted++;
      // Ends the body on this side as well (the aborted request's body may never settle by itself).
      await reader.cancel().catch(() => {});
      continue;
    }
    while (!(await reader.read()).done);
  }
};
const memStart = performance.now();
await Promise.all(Array.from({ length: 10 }, worker));
await new Promise((r) => setTimeout(r, 500));
await settle();
const after = process.memoryUsage();
const stats = engine.stats();
console.log(
  `memory after ${N} requests (${aborted} aborted mid-stream, ${fmt((performance.now() - memStart) / 1000)} s): ` +
    `heap ${mb(before.heapUsed)} → ${mb(after.heapUsed)}, rss ${mb(before.rss)} → ${mb(after.rss)}${gc ? '' : ' (no --expose-gc: heap figures include garbage)'}; ` +
    `engine active streams ${stats.active}, buffered ${fmt(stats.bufferedMs)} ms, server open streams ${server.openStreams}`,
);

await close();
await engine.close();
