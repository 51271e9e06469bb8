// Load: N concurrent real-time clients against the /v1/tts/stream server on
// loopback (the server in a child process, its engine warmed as `voxpipe serve`
// warms it), stepping N up. Per step: TTFB p50/p95/p99, the share of clients
// that ever fell behind real time, server RSS (end of step and peak), the
// server's event-loop delay p99, CPU and the engine's measured cost per
// character. Then one step past the engine's capacity: the excess is refused
// with 429 (engine-busy, or too-many-streams past the stream limit) and the
// admitted clients are not degraded.
// Run: npx tsx bench/load.ts   (LOAD_STEPS=10,25,50 picks steps, LOAD_CHARS=600 a longer text; VOXPIPE_HEAVY=1: steps up to 200, 600 chars;
// LOAD_NICE=0 runs the engine's workers level with the server's thread instead of 5 below, as `voxpipe serve` runs them;
// LOAD_PROF=<dir> writes the server's CPU profile there)
//
// Besides the clients' TTFB, each step prints the server's own (from handling the request to its first body byte: the
// rest is the connection waiting to be accepted and read, and the way back), and the CPU the server's main thread,
// the engine's workers, the server's other threads (V8's compilers and garbage collector) and the clients used.
//
// A client here: POSTs (aura-lite, pcm), starts "playing" 200 ms after its first byte, and reads at
// real-time pace (it stops reading when it is more than 1 s ahead of playback, so backpressure
// reaches the server). It "fell behind" if playback ever needed audio that had not arrived.
// Clients of a step arrive spread over 1 s.
import { fork, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

const BYTES_PER_SECOND = 24000 * 2;
const PREBUFFER_S = 0.2;
const AHEAD_S = 1;
const ARRIVAL_SPREAD_MS = 1000;
const LIMIT = Number(process.env.LOAD_MAX_STREAMS ?? 256);
const steps = (process.env.LOAD_STEPS ?? (process.env.VOXPIPE_HEAVY === '1' ? '10,25,50,100,200' : '10,25,50,100')).split(',').map(Number);
const SENTENCES =
  'Streaming speech lets a listener hear the start of an answer while the rest is still being made. Every client here plays its audio in real time, and nobody should hear a gap. ';
/** ≈ 11 s of speech (one engine segment) by default; LOAD_CHARS=600 (heavy: the default) gives ≈ 40 s in three segments. */
const CHARS = Number(process.env.LOAD_CHARS ?? (process.env.VOXPIPE_HEAVY === '1' ? 600 : 174));
const TEXT = SENTENCES.repeat(Math.ceil(CHARS / SENTENCES.length)).slice(0, CHARS).trim();

interface Sample {
  rss: number;
  peakRss: number;
  heapUsed: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  openStreams: number;
  /** The server's own time to first byte of each stream served (its request line's ttfbMs). */
  serverTtfbMs: number[];
  /** CPU seconds of the server's threads: its own, the engine's workers (when they run below it: else counted in other), the rest (GC, libuv). */
  cpu: { mainS: number; workersS: number; otherS: number };
  engine: { workers: number; evicted: number; resumed: number; completed: number; cancelled: number; refused: number; msPerChar: number };
}

const child: ChildProcess = fork(join(import.meta.dirname, 'support', 'load-server.ts'), [], {
  execArgv: ['--import', 'tsx', ...(process.env.LOAD_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.LOAD_PROF] : [])],
  env: { ...process.env, LOAD_MAX_STREAMS: String(LIMIT) },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await new Promise<{ url: string; workers: number }>((resolve) => child.once('message', (m) => resolve(m as { url: string; workers: number })));
const ask = (type: string) => child.send({ type });
const sample = () =>
  new Promise<Sample>((resolve) => {
    child.once('message', (m) => resolve(m as Sample));
    ask('sample');
  });

interface ClientResult {
  status: number;
  /** A refusal's error code and Retry-After. */
  code?: string;
  retryAfter?: string;
  ttfbMs: number;
  fellBehind: boolean;
  worstLagMs: number;
  audioS: number;
}

/** One real-time client. */
function client(i: number): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const body = JSON.stringify({ text: TEXT, voice: i % 2 ? 'Anna' : 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' });
    const req = httpRequest(`${ready.url}/v1/tts/stream`, { method: 'POST', agent: false, headers: { 'X-API-Key': 'load-key', 'Content-Type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, code, retryAfter: res.headers['retry-after'], ttfbMs: NaN, fellBehind: false, worstLagMs: 0, audioS: 0 });
        });
        return;
      }
      let received = 0;
      let first = NaN;
      let worstLag = 0;
      const check = (now: number) => {
        // Playback began at first + prebuffer; by now it has used (now - first)/1000 - prebuffer seconds.
        const played = (now - first) / 1000 - PREBUFFER_S;
        worstLag = Math.max(worstLag, played - received / BYTES_PER_SECOND);
      };
      res.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (Number.isNaN(first)) first = now;
        check(now);
        received += chunk.byteLength;
        const ahead = received / BYTES_PER_SECOND - (now - first) / 1000;
        if (ahead > AHEAD_S) {
          res.pause();
          setTimeout(() => res.resume(), (ahead - AHEAD_S) * 1000);
        }
      });
      res.on('end', () =>
        resolve({ status: 200, ttfbMs: first - started, fellBehind: worstLag > 0, worstLagMs: Math.max(0, worstLag * 1000), audioS: received / BYTES_PER_SECOND }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The refusals by status, code and Retry-After, e.g. "429 engine-busy Retry-After 3: 12". */
function refusals(results: ClientResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) if (r.status !== 200) counts.set(`${r.status} ${r.code ?? '?'} Retry-After ${r.retryAfter ?? '—'}`, (counts.get(`${r.status} ${r.code ?? '?'} Retry-After ${r.retryAfter ?? '—'}`) ?? 0) + 1);
  return [...counts].map(([what, n]) => `${what}: ${n}`).join(', ');
}

const pct = (values: number[], p: number) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};
const f = (n: number) => (Number.isNaN(n) ? '—' : n.toFixed(0));
const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;

async function step(n: number, spreadMs = ARRIVAL_SPREAD_MS): Promise<{ results: ClientResult[]; server: Sample; wallS: number; clientCpuS: number }> {
  ask('reset');
  const begin = performance.now();
  const cpu = process.cpuUsage();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => new Promise<ClientResult>((resolve, reject) => setTimeout(() => client(i).then(resolve, reject), (i / n) * spreadMs))),
  );
  const used = process.cpuUsage(cpu);
  return { results, server: await sample(), wallS: (performance.now() - begin) / 1000, clientCpuS: (used.user + used.system) / 1e6 };
}

console.log(`# load: real-time clients on loopback; server in a child process (espeak, ${ready.workers} workers, limit ${LIMIT} streams); text ≈ ${TEXT.length} chars`);
console.log('clients | TTFB p50 / p95 / p99 ms | of it in the server p50 / p95 | fell behind | worst lag ms | server RSS end / peak | loop delay p99 / max ms | CPU s: server main / engine workers / server other / clients | engine evictions | engine ms/char');
await step(5); // warm-up
let lastEvictions = (await sample()).engine.evicted;
for (const n of steps) {
  const { results, server, clientCpuS } = await step(n);
  const ok = results.filter((r) => r.status === 200);
  const behind = ok.filter((r) => r.fellBehind).length;
  const refused = results.length - ok.length;
  console.log(
    `${String(n).padStart(7)} | ${f(pct(ok.map((r) => r.ttfbMs), 50))} / ${f(pct(ok.map((r) => r.ttfbMs), 95))} / ${f(pct(ok.map((r) => r.ttfbMs), 99))} | ` +
      `${f(pct(server.serverTtfbMs, 50))} / ${f(pct(server.serverTtfbMs, 95))} | ` +
      `${behind}/${ok.length} (${((100 * behind) / Math.max(1, ok.length)).toFixed(0)} %) | ${f(Math.max(0, ...ok.map((r) => r.worstLagMs)))} | ` +
      `${mb(server.rss)} / ${mb(server.peakRss)} | ${server.loopDelayP99Ms.toFixed(1)} / ${server.loopDelayMaxMs.toFixed(1)} | ${server.cpu.mainS.toFixed(1)} / ${server.cpu.workersS.toFixed(1)} / ${server.cpu.otherS.toFixed(1)} / ${clientCpuS.toFixed(1)} | ${server.engine.evicted - lastEvictions} | ${server.engine.msPerChar.toFixed(3)}` +
      `${refused ? ` | ${refused} refused (${refusals(results)})` : ''}`,
  );
  lastEvictions = server.engine.evicted;
}

// Past capacity: 200 clients within 1 s; those the engine cannot keep ahead of real time (or past the limit of LIMIT
// streams) get 429, the rest are served as before (a stream holds its slot until its last byte is sent).
{
  const n = 200;
  const { results, server } = await step(n);
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 429).length;
  const behind = ok.filter((r) => r.fellBehind).length;
  console.log(
    `past capacity: ${n} clients → ${ok.length} served, ${refused} refused with 429 (others: ${results.length - ok.length - refused}; ${refusals(results)}); ` +
      `served: TTFB p50 ${f(pct(ok.map((r) => r.ttfbMs), 50))} / p95 ${f(pct(ok.map((r) => r.ttfbMs), 95))} / p99 ${f(pct(ok.map((r) => r.ttfbMs), 99))} ms, fell behind ${behind}/${ok.length} ` +
      `(worst lag ${f(Math.max(0, ...ok.map((r) => r.worstLagMs)))} ms); loop delay p99 ${server.loopDelayP99Ms.toFixed(1)} ms; CPU s main ${server.cpu.mainS.toFixed(1)} / workers ${server.cpu.workersS.toFixed(1)} / other ${server.cpu.otherS.toFixed(1)}; engine ms/char ${server.engine.msPerChar.toFixed(3)}`,
  );
}
ask('close');
await new Promise((resolve) => child.once('exit', resolve));
