// The soak's clients: runs the server in a child process of its own (soak-server.ts, with
// --expose-gc) so memory figures are the server's alone, drives the request mix, prints a
// `progress <n> <outcome>` line as each request ends (test/soak.test.ts watches these to tell a
// slow machine from a hang) and, last, one JSON line with the report. A stream the server refuses
// with 429 (its engine over capacity after a worker crash, say) is asked again after Retry-After,
// as a client would; the report counts them by code (`retried`).
// Run: npx tsx test/support/soak-run.ts
// SOAK_REQUESTS (default 150), SOAK_SEED (default: random), SOAK_CONCURRENCY (default 8),
// SOAK_WARMUP (default max(100, N/4)), SOAK_KINDS (a comma list to narrow the mix).
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { decode } from '../../packages/codecs/src/index.js';
import { liveMp3Decoders } from '../../packages/codecs/src/mp3-decoder.js';
import { collect, fromIterable, pipeline } from '../../packages/core/src/index.js';
import { longText } from './tts-server.js';

const N = Number(process.env.SOAK_REQUESTS ?? 150);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8);
const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KEY = 'sk-soak-key';
/** Stalling clients use keys of their own, so each can find its own stream's idle-cut line in the log. */
const STALL_KEYS = Array.from({ length: 16 }, (_, i) => `sk-soak-stall-${i}`);
const idOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8);
let stalls = 0;

/** mulberry32: a seeded random, so a failing mix can be replayed with SOAK_SEED. */
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
process.stdout.write(`seed ${seed}\n`);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

const child: ChildProcess = fork(join(import.meta.dirname, 'soak-server.ts'), [], {
  execArgv: ['--expose-gc', '--import', 'tsx'],
  env: { ...process.env, SOAK_KEYS: JSON.stringify([KEY, ...STALL_KEYS]) },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const warnings: string[] = [];
/** The server's line for each stream that ended (completed, cut or cancelled). */
const ended: string[] = [];
let onMeasure: ((m: Measure) => void) | undefined;
const ready = new Promise<string>((resolve) =>
  child.on('message', (m: { type: string; url?: string; line?: string }) => {
    if (m.type === 'ready') resolve(m.url!);
    else if (m.type === 'warn') warnings.push(m.line!);
    else if (m.type === 'ended') ended.push(m.line!);
    else if (m.type === 'measure') onMeasure?.(m as unknown as Measure);
  }),
);
const listening = { url: await ready };
interface Measure {
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  engine: { workers: number; busy: number; queued: number; active: number; bufferedMs: number; started: number; crashed: number };
  openStreams: number;
  idleCuts: number;
  openSockets: number;
  timers: number;
}
const measure = () =>
  new Promise<Measure>((resolve) => {
    onMeasure = resolve;
    child.send({ type: 'measure' });
  });

type Kind = 'complete' | 'complete-decoded' | 'abort' | 'abort-decoded' | 'abort-early' | 'stall-cut' | 'crash' | 'fail' | 'bad-request' | 'range';
const MIX: Array<[Kind, number]> = [
  ['complete', 30],
  ['complete-decoded', 10],
  ['abort', 20],
  ['abort-decoded', 8],
  ['abort-early', 7],
  ['stall-cut', 8],
  ['crash', 4],
  ['fail', 4],
  ['bad-request', 5],
  ['range', 4],
];
/** SOAK_KINDS=a,b limits the mix (to find which kind of request moves a figure). */
const only = process.env.SOAK_KINDS?.split(',');
if (only) MIX.splice(0, MIX.length, ...MIX.filter(([kind]) => only.includes(kind)));
function pickKind(): Kind {
  let r = random() * MIX.reduce((n, [, w]) => n + w, 0);
  for (const [kind, weight] of MIX) if ((r -= weight) < 0) return kind;
  return 'complete';
}

/** Streams refused with 429 (the engine over its capacity: engine-busy), by code, each asked again after its Retry-After. */
const retried: Record<string, number> = {};

/** POSTs a stream; one refused with 429 is asked again after Retry-After (at most 2 s here), as a client would. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; destroy: () => void }> {
  for (;;) {
    const sent = await postOnce(body, headers);
    if (sent.res.statusCode !== 429) return sent;
    let text = '';
    for await (const chunk of sent.res) text += String(chunk);
    const code = /"code":"([^"]+)"/.exec(text)?.[1] ?? '?';
    retried[code] = (retried[code] ?? 0) + 1;
    await new Promise((resolve) => setTimeout(resolve, Math.min(2, Number(sent.res.headers['retry-after'] ?? 1)) * 1000));
  }
}

function postOnce(body: unknown, headers: Record<string, string>): Promise<{ res: IncomingMessage; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${listening.url}/v1/tts/stream`, { method: 'POST', agent: false, headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers } }, (res) =>
      resolve({ res, destroy: () => req.destroy() }),
    );
    req.on('error', (error) => reject(error));
    req.end(JSON.stringify(body));
  });
}

/** Reads to the end (or until the server cuts it); true when the response was complete. */
function drain(res: IncomingMessage, stopAfter = Infinity, onStop?: () => void): Promise<{ bytes: number; complete: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      resolve({ bytes, complete: res.complete });
    };
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes >= stopAfter && !settled) {
        onStop?.();
        done();
      }
    });
    res.on('end', done);
    res.on('close', done);
    res.on('error', done);
    res.on('aborted', done);
  });
}

const tally: Record<string, number> = {};
let finished = 0;
const count = (what: string) => {
  tally[what] = (tally[what] ?? 0) + 1;
  process.stdout.write(`progress ${++finished} ${what}\n`);
};

async function one(): Promise<void> {
  const kind = pickKind();
  return attempt(kind);
}

async function attempt(kind: Kind): Promise<void> {
  const model = pick(['aura-lite', 'aura-lite', 'rapid-flash']);
  const format = pick(['pcm', 'mp3', 'wav'] as const);
  const text = longText(pick([60, 150, 300, 600]));
  const body = { text, voice: pick(['Peter', 'Anna', 'Emma']), language: 'en-US', model, format };
  try {
    switch (kind) {
      case 'complete': {
        const { res } = await post(body);
        const { complete } = await drain(res);
        count(res.statusCode === 200 && complete ? 'completed' : 'complete-failed!');
        return;
      }
      case 'complete-decoded':
      case 'abort-decoded': {
        const { res, destroy } = await post({ ...body, format: 'mp3' });
        const run = pipeline(fromIterable(res, { format: { kind: 'bytes', container: 'mp3' } }), decode(), collect());
        if (kind === 'abort-decoded') {
          let heard = 0;
          const limit = 2000 + random() * 20_000;
          res.on('data', (c: Buffer) => {
            heard += c.byteLength;
            if (heard > limit) {
              run.abort('client gave up');
              destroy();
            }
          });
        }
        const result = await run.done.catch((e: Error) => ({ outcome: `error ${e.message}` }));
        count(`${kind}: ${result.outcome}`);
        return;
      }
      case 'abort': {
        const { res, destroy } = await post(body);
        await drain(res, random() * 200_000, destroy);
        count('aborted by client');
        return;
      }
      case 'abort-early': {
        await new Promise<void>((resolve) => {
          const req = httpRequest(`${listening.url}/v1/tts/stream`, { method: 'POST', agent: false, headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' } });
          req.on('error', () => resolve());
          req.on('close', () => resolve());
          req.end(JSON.stringify(body));
          setTimeout(() => req.destroy(), random() * 30);
        });
        count('aborted before the response');
        return;
      }
      case 'stall-cut': {
        // Reads a little, then stops reading. Once the kernel's socket buffers are full the server
        // sees backpressure, and after its idle limit (0.4 s here) ends the stream and logs it.
        // Waits for the server to say how the stream ended — cut, or (were the socket buffers big
        // enough to take the whole stream) completed — however long a busy machine takes.
        const key = STALL_KEYS[stalls++ % STALL_KEYS.length];
        const id = idOf(key);
        const logged = () => warnings.some((line) => line.includes(`key ${id}`) && line.includes('read nothing'));
        const over = () => ended.some((line) => line.includes(`key=${id}`));
        const { res, destroy } = await post({ ...body, text: longText(5000), model: 'aura-lite', format: 'pcm' }, { 'X-API-Key': key });
        await new Promise<void>((resolve) => {
          res.once('data', () => {
            res.pause();
            resolve();
          });
        });
        for (let waited = 0; !logged() && !over(); waited += 50) {
          // Only for the record should the soak stall here (the test's watchdog ends it): what it waits for.
          if (waited > 0 && waited % 30_000 === 0)
            process.stderr.write(`soak: still waiting for the server to cut (warn "read nothing") or end (debug "stream key=${id}") the stalled stream of key ${id}\n`);
          await new Promise((r) => setTimeout(r, 50));
        }
        // Reading on gives what the kernel held, then the cut: the response is incomplete.
        const reading = drain(res);
        res.resume();
        const { complete } = await reading;
        destroy();
        warnings.splice(0, warnings.length, ...warnings.filter((line) => !line.includes(`key ${id}`)));
        ended.splice(0, ended.length, ...ended.filter((line) => !line.includes(`key=${id}`)));
        count(complete ? 'stall-not-cut!' : 'cut by the server (idle)');
        return;
      }
      case 'crash':
      case 'fail': {
        const { res } = await post({ ...body, text: `${kind === 'crash' ? 'Crash.' : 'Fail.'} ${longText(400)}`, model: 'aura-lite' });
        const { complete } = await drain(res);
        count(complete ? `${kind}-not-cut!` : `cut by the server (${kind})`);
        return;
      }
      case 'bad-request': {
        const { res } = await post(pick([{ ...body, voice: 'Nobody' }, { ...body, speed: 9 }, { text: '' }, 'not json']), pick<Record<string, string>>([{}, { 'X-API-Key': 'wrong' }]));
        await drain(res);
        count(`status ${res.statusCode}`);
        return;
      }
      case 'range': {
        const { res } = await post(body, { Range: `bytes=${Math.floor(random() * 5000)}-` });
        await drain(res);
        count(`status ${res.statusCode}`);
        return;
      }
    }
  } catch (error) {
    // A fault can cut the connection before the response head has left: the client sees a reset.
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    count(kind === 'crash' || kind === 'fail' || kind === 'abort-early' ? `cut by the server (${kind}, before the response): ${code}` : `${kind}: client error ${code}!`);
  }
}

async function runMany(n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await one();
    }),
  );
}

const clientSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

const began = performance.now();
// Warm-up. Worker replacement first: a replaced worker starts small and grows to its working size
// (≈ 20 MB more) as it synthesizes, so the baseline must be taken with workers that have worked.
for (let i = 0; i < 4; i++) await attempt('crash');
// (RSS reaches its plateau only after ~100 requests: allocator pages, worker heaps, encoder pool.)
await runMany(Number(process.env.SOAK_WARMUP ?? Math.max(100, Math.round(N / 4))));
const warmed = await measure();
for (const k of Object.keys(tally)) delete tally[k];
warnings.length = 0;
ended.length = 0;
const soakBegan = performance.now();
await runMany(N);
const soakMs = performance.now() - soakBegan;
const after = await measure();
console.log(
  JSON.stringify({
    seed,
    requests: N,
    concurrency: CONCURRENCY,
    soakMs: Math.round(soakMs),
    totalMs: Math.round(performance.now() - began),
    tally,
    retried,
    warmed: warmed.memory,
    after: after.memory,
    engine: { ...after.engine, startedInSoak: after.engine.started - warmed.engine.started, crashedInSoak: after.engine.crashed - warmed.engine.crashed },
    openStreams: after.openStreams,
    idleCuts: after.idleCuts - warmed.idleCuts,
    liveMp3Decoders: liveMp3Decoders(),
    openSockets: after.openSockets + clientSockets(),
    timers: { before: warmed.timers, after: after.timers },
    warnings: warnings.filter((line) => !/read nothing|crashed|failed on purpose/.test(line)),
  }),
);
child.send({ type: 'close' });
await new Promise((resolve) => child.once('exit', resolve));
