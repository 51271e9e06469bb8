// The server side of the soak (test/support/soak-run.ts forks it with --expose-gc), alone in its
// process so its memory figures are its own. IPC:
//   → { type: 'ready', url }                 listening
//   → { type: 'warn', line }                 each warning / error the server logs
//   → { type: 'ended', line }                each stream's end (the server's debug line)
//   ← { type: 'measure' } → { type: 'measure', ... }   waits until idle, forces gc, reports
//   ← { type: 'close' }
import { warmMp3Encoders } from '../../packages/codecs/src/index.js';
import type { SynthesisRequest } from '../../packages/core/src/index.js';
import { createEspeakEngine, type EspeakSynthesisRequest } from '../../packages/engine-espeak/src/index.js';
import { createServer } from '../../packages/server/src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const keys = JSON.parse(process.env.SOAK_KEYS ?? '[]') as string[];
const engine = await createEspeakEngine({ workers: 2 });
const warn = (line: string) => process.send!({ type: 'warn', line });
const server = createServer({
  engine,
  keys,
  env: {},
  logger: { info() {}, warn, error: warn, debug: (line: string) => void (line.startsWith('stream key=') && process.send!({ type: 'ended', line })) },
  limits: { burst: 1e6, requestsPerSecond: 1e6, concurrentStreamsPerKey: 1000, idleTimeoutMs: 400 },
  // Server-side faults on demand, set in code (API callers cannot reach the engine's test hooks).
  hooks: {
    synthesis(request: SynthesisRequest, { text }) {
      if (text.startsWith('Crash.')) return { ...request, __test: { crashAfterChunks: 2 } } as EspeakSynthesisRequest;
      if (text.startsWith('Fail.')) return { ...request, __test: { throwAfterChunks: 2 } } as EspeakSynthesisRequest;
      return request;
    },
  },
});
// The codecs package keeps up to 8 idle LAME encoders (≈ 16 MB of wasm memory each) for reuse: fill that
// pool now, so its growth with the peak number of MP3 streams is not mistaken for a leak.
await warmMp3Encoders(8);
const listening = await server.listen();

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

process.on('message', async (message: { type: string }) => {
  if (message.type === 'measure') {
    // Settles in well under a second once the clients are done; the bound only tells a leak
    // (a stream or job that never ends) from a busy machine, and reports it as it stands.
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline) {
      const s = engine.stats();
      if (s.active === 0 && s.busy === 0 && s.queued === 0 && server.openStreams === 0 && sockets() === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 6; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 60));
    }
    const m = process.memoryUsage();
    process.send!({
      type: 'measure',
      memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers },
      engine: engine.stats(),
      openStreams: server.openStreams,
      idleCuts: server.idleCuts,
      openSockets: sockets(),
      timers: timers(),
    });
  } else if (message.type === 'close') {
    await listening.close();
    await engine.close();
    process.exit(0);
  }
});
process.send!({ type: 'ready', url: listening.url });
