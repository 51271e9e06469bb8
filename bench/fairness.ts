// Fairness: what one key's heavy use does to another key's time to first byte, and what a range far past
// the end costs. The server runs in a child process (bench/support/load-server.ts).
// Run: npx tsx bench/fairness.ts   (FAIR_REQUESTS=40 takes more samples per phase)
//
// - quiet: key "quiet" makes one short request at a time (a voice assistant's reply), reading each whole;
//   its TTFB p50/p95 alone, then while key "flood" keeps 16 long streams (5,000 characters) open and reads
//   them as fast as the socket allows, then while "flood" sends ranges far past the end of such a text.
// - range past the end: the time to a 416 for `Range: bytes=999999999999-` on a 5,000-character text.
import { fork, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

const REQUESTS = Number(process.env.FAIR_REQUESTS ?? 20);
const FLOOD_STREAMS = 16;
const LONG = 'Streaming speech lets a listener hear the start of an answer while the rest is still being made. '.repeat(60).slice(0, 5000).trim();
const SHORT = 'Sure, I can help with that. What time would you like to book?';

const child: ChildProcess = fork(join(import.meta.dirname, 'support', 'load-server.ts'), [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, LOAD_MAX_STREAMS: '200', LOAD_KEYS: 'quiet,flood' },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await new Promise<{ url: string; workers: number }>((resolve) => child.once('message', (m) => resolve(m as { url: string; workers: number })));

interface Answer {
  status: number;
  ttfbMs: number;
  totalMs: number;
  bytes: number;
}

/** One POST, read to its end (as fast as the socket allows); `stop` cuts it. */
function post(key: string, text: string, range?: string, stop?: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string> = { 'X-API-Key': key, 'Content-Type': 'application/json' };
    if (range) headers.Range = range;
    const req = httpRequest(`${ready.url}/v1/tts/stream`, { method: 'POST', agent: false, headers, signal: stop }, (res) => {
      let first = NaN;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (Number.isNaN(first)) first = performance.now();
        bytes += chunk.byteLength;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ttfbMs: first - started, totalMs: performance.now() - started, bytes }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, ttfbMs: first - started, totalMs: performance.now() - started, bytes }));
    });
    req.on('error', (error) => (stop?.aborted ? resolve({ status: 0, ttfbMs: NaN, totalMs: NaN, bytes: 0 }) : reject(error)));
    req.end(JSON.stringify({ text, voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' }));
  });
}

/** Keeps `n` requests of `make` going until `stop` is aborted. */
function keepGoing(n: number, make: (signal: AbortSignal) => Promise<Answer>, stop: AbortSignal): Promise<number> {
  let done = 0;
  const lane = async () => {
    while (!stop.aborted) {
      await make(stop);
      done++;
    }
  };
  return Promise.all(Array.from({ length: n }, lane)).then(() => done);
}

async function quietTtfb(): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const answer = await post('quiet', SHORT);
    if (answer.status !== 200) throw new Error(`quiet request answered ${answer.status}`);
    out.push(answer.ttfbMs);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return out;
}

const pct = (values: number[], p: number) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};
const row = (label: string, values: number[], base?: number[]) =>
  console.log(
    `${label.padEnd(44)} | ${pct(values, 50).toFixed(1).padStart(6)} | ${pct(values, 95).toFixed(1).padStart(6)} | ${Math.max(...values).toFixed(1).padStart(6)}` +
      (base ? ` | ${(pct(values, 50) - pct(base, 50) >= 0 ? '+' : '')}${(pct(values, 50) - pct(base, 50)).toFixed(1)} ms` : ' |'),
  );

console.log(`# fairness: server in a child process (espeak, ${ready.workers} workers); key "quiet" asks one ${SHORT.length}-character reply at a time (${REQUESTS} per phase)`);
await quietTtfb(); // warm-up
console.log('quiet key TTFB, ms                            |    p50 |    p95 |    max | p50 vs alone');
const alone = await quietTtfb();
row('alone', alone);

{
  const stop = new AbortController();
  setMaxListeners(4 * FLOOD_STREAMS, stop.signal); // every flood request listens to it
  const flood = keepGoing(FLOOD_STREAMS, (signal) => post('flood', LONG, undefined, signal), stop.signal);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const during = await quietTtfb();
  stop.abort();
  await flood;
  row(`while "flood" reads ${FLOOD_STREAMS} × 5,000 chars at full speed`, during, alone);
}
{
  const stop = new AbortController();
  setMaxListeners(4 * FLOOD_STREAMS, stop.signal); // every flood request listens to it
  let refused = 0;
  const flood = keepGoing(FLOOD_STREAMS, async (signal) => {
    const answer = await post('flood', LONG, 'bytes=999999999999-', signal);
    if (answer.status === 416) refused++;
    return answer;
  }, stop.signal);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const during = await quietTtfb();
  stop.abort();
  const sent = await flood;
  row(`while "flood" sends ranges past the end (${refused}/${sent} → 416)`, during, alone);
}

const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const answer = await post('quiet', LONG, 'bytes=999999999999-');
  if (answer.status !== 416) throw new Error(`range past the end answered ${answer.status}`);
  times.push(answer.totalMs);
}
console.log(`\nRange: bytes=999999999999- on a 5,000-character text → 416 in p50 ${pct(times, 50).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (target ≤ 50 ms; no synthesis)`);

child.send({ type: 'close' });
await new Promise((resolve) => child.once('exit', resolve));
