// The server under test for bench/hostile.ts, in a process of its own (so the
// hostile clients' memory and work are not counted as the server's). The
// server's default limits and timeouts (HOSTILE_TIMEOUT_MS sets the header
// and body timeouts), the espeak engine with one worker.
// Talks over IPC:
//   → { type: 'ready', url }           once listening
//   ← { type: 'reset' }                starts a phase: collects garbage, sets the RSS baseline and peak
//   ← { type: 'sample' } → { type: 'sample', rss, peakRss, baseRss, heapUsed, baseHeap, openStreams, logLines }
//     (after a garbage collection)
//   ← { type: 'close' }                closes and exits
import { createEspeakEngine } from '../../packages/engine-espeak/src/index.js';
import { createServer } from '../../packages/server/src/index.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const engine = await createEspeakEngine({ workers: 1 });
const logLines: string[] = [];
const server = createServer({
  engine,
  keys: ['hostile-bench-key-0123456789'],
  env: {},
  logger: { info: (m) => logLines.push(m), warn: (m) => logLines.push(m), error: (m) => logLines.push(m) },
  limits: process.env.HOSTILE_TIMEOUT_MS ? { headersTimeoutMs: Number(process.env.HOSTILE_TIMEOUT_MS), bodyTimeoutMs: Number(process.env.HOSTILE_TIMEOUT_MS) } : {},
});
const listening = await server.listen();
let baseRss = process.memoryUsage.rss();
let peakRss = baseRss;
let baseHeap = process.memoryUsage().heapUsed;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);

process.on('message', async (message: { type: string }) => {
  if (message.type === 'reset') {
    gc();
    baseRss = peakRss = process.memoryUsage.rss();
    baseHeap = process.memoryUsage().heapUsed;
    logLines.length = 0;
    process.send!({ type: 'reset' });
  } else if (message.type === 'sample') {
    gc();
    process.send!({ type: 'sample', rss: process.memoryUsage.rss(), peakRss, baseRss, heapUsed: process.memoryUsage().heapUsed, baseHeap, openStreams: server.openStreams, logLines });
  } else if (message.type === 'close') {
    clearInterval(sampler);
    await listening.close();
    await engine.close();
    process.exit(0);
  }
});
process.send!({ type: 'ready', url: listening.url });
