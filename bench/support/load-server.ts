// The server under test for bench/load.ts, in a process of its own so the
// clients' work does not distort its event loop. Talks over IPC:
//   → { type: 'ready', url }            once listening
//   ← { type: 'reset' }                 starts a step: clears the event-loop histogram and the RSS peak
//   ← { type: 'sample' } → { type: 'sample', ... }   figures since the last reset
//   ← { type: 'close' }                 closes and exits
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, getPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createEspeakEngine } from '../../packages/engine-espeak/src/index.js';
import { createServer } from '../../packages/server/src/index.js';

const serverTtfbs: number[] = [];
const mainNice = getPriority(process.pid);
// As `voxpipe serve` starts it: warmed thoroughly before it is ready (LOAD_WARM=quick: one word per worker).
const engine = await createEspeakEngine({
  workers: Number(process.env.LOAD_WORKERS ?? availableParallelism()),
  warm: process.env.LOAD_WARM === 'quick' ? true : 'full',
  workerNice: Number(process.env.LOAD_NICE ?? 5),
});
const server = createServer({
  engine,
  keys: ['load-key', ...(process.env.LOAD_KEYS ? process.env.LOAD_KEYS.split(',') : [])],
  env: {},
  // Only the request lines: the server's own time to first byte (from the request's handling to its first body byte).
  logger: { info() {}, warn() {}, error() {}, request: (line) => line.ttfbMs !== undefined && serverTtfbs.push(line.ttfbMs) },
  limits: { burst: 1e6, requestsPerSecond: 1e6, concurrentStreamsPerKey: 10_000, maxConcurrentStreams: Number(process.env.LOAD_MAX_STREAMS ?? 110) },
});
const listening = await server.listen();
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);

/**
 * CPU seconds used so far by this process's main thread, by the engine's workers (the threads running below the
 * process's priority: LOAD_NICE > 0) and by its other threads (V8's garbage collection, libuv), from /proc. Threads
 * that have ended are not counted.
 */
function threadCpu(): { mainS: number; workersS: number; otherS: number } {
  const tick = 100; // USER_HZ
  let mainS = 0;
  let workersS = 0;
  let otherS = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / tick;
      if (Number(tid) === process.pid) mainS += seconds;
      else if (Number(fields[16]) > mainNice) workersS += seconds;
      else otherS += seconds;
    }
  } catch {
    // not Linux: no split
  }
  return { mainS, workersS, otherS };
}
let cpuAtReset = threadCpu();

process.on('message', async (message: { type: string }) => {
  if (message.type === 'reset') {
    delay.reset();
    peakRss = process.memoryUsage.rss();
    cpuAtReset = threadCpu();
    serverTtfbs.length = 0;
  } else if (message.type === 'sample') {
    const stats = engine.stats();
    process.send!({
      type: 'sample',
      rss: process.memoryUsage.rss(),
      peakRss,
      heapUsed: process.memoryUsage().heapUsed,
      loopDelayP50Ms: delay.percentile(50) / 1e6,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      openStreams: server.openStreams,
      serverTtfbMs: [...serverTtfbs],
      cpu: (({ mainS, workersS, otherS }) => ({ mainS: mainS - cpuAtReset.mainS, workersS: workersS - cpuAtReset.workersS, otherS: otherS - cpuAtReset.otherS }))(threadCpu()),
      engine: { workers: stats.workers, evicted: stats.evicted, resumed: stats.resumed, completed: stats.completed, cancelled: stats.cancelled, refused: stats.refused, msPerChar: stats.msPerChar },
    });
  } else if (message.type === 'close') {
    clearInterval(sampler);
    await listening.close();
    await engine.close();
    process.exit(0);
  }
});
process.send!({ type: 'ready', url: listening.url, workers: engine.stats().workers });
