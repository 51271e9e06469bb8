// Soak: many requests with a random mix of completions, client aborts at
// random points (some mid-MP3-decode), and server-side disconnects (worker
// crashes, synthesis failures, idle cuts). Afterwards nothing is left: no
// engine job, open stream, MP3 decoder, timer or socket, and memory is back
// within 10% of its warmed baseline (gc forced). The clients run in a child
// process (soak-run.ts) and the server in a grandchild (soak-server.ts, with
// --expose-gc), so the memory figures are the server's alone.
// CI: 150 requests; VOXPIPE_HEAVY=1: 1,000. SOAK_SEED=<n> replays a mix.
// Its budget is a count of requests, never a time: a busy machine only makes it slower. What
// catches a hang is a watchdog on the child's progress (one line per finished request): no
// request ending for STALL_MS ends the child and fails the test, saying where it stood.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHILD_MS } from './support/budgets.js';

const HEAVY = process.env.VOXPIPE_HEAVY === '1';
const root = join(import.meta.dirname, '..');
/** No request finishing for this long is a hang (one request, on the busiest machine, takes seconds). */
const STALL_MS = CHILD_MS;

/** Runs soak-run.ts to its end, however long that takes while it makes progress; its stdout. */
function soak(requests: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'test', 'support', 'soak-run.ts')], {
      env: { ...process.env, SOAK_REQUESTS: String(requests) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a stalled run is ended with its server grandchild
    });
    let stdout = '';
    let stderr = '';
    let last = 'none yet';
    let stalled = false;
    const watchdog = () =>
      setTimeout(() => {
        stalled = true;
        process.kill(-child.pid!, 'SIGKILL');
      }, STALL_MS);
    let timer = watchdog();
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      last = [...stdout.slice(-400).matchAll(/^progress (.*)$/gm)].at(-1)?.[1] ?? last;
      clearTimeout(timer);
      timer = watchdog();
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stalled) reject(new Error(`soak stalled: no request finished for ${STALL_MS / 1000} s (last finished: ${last}); SOAK_SEED=${/^seed (\d+)/m.exec(stdout)?.[1]} replays the mix\n${stderr}`));
      else if (code !== 0) reject(new Error(`soak run failed: exit ${code ?? signal}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
interface SoakReport {
  seed: number;
  requests: number;
  soakMs: number;
  tally: Record<string, number>;
  warmed: Memory;
  after: Memory;
  engine: { workers: number; busy: number; queued: number; active: number; bufferedMs: number; startedInSoak: number; crashedInSoak: number };
  openStreams: number;
  idleCuts: number;
  liveMp3Decoders: number;
  openSockets: number;
  timers: { before: number; after: number };
  warnings: string[];
}

describe('soak', () => {
  it(`${HEAVY ? 1000 : 150} mixed requests leave no job, stream, decoder, timer or socket behind, and memory within 10% of its warmed baseline`, async () => {
    const output = await soak(HEAVY ? 1000 : 150);
    const report = JSON.parse(output.trim().split('\n').at(-1)!) as SoakReport;
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    const change = (key: keyof Memory) => (report.after[key] - report.warmed[key]) / report.warmed[key];
    console.log(
      `[soak] ${report.requests} requests in ${(report.soakMs / 1000).toFixed(1)} s (seed ${report.seed}): ${JSON.stringify(report.tally)}\n` +
        `[soak] rss ${mb(report.warmed.rss)} → ${mb(report.after.rss)} (${(change('rss') * 100).toFixed(1)} %), heap ${mb(report.warmed.heapUsed)} → ${mb(report.after.heapUsed)} (${(change('heapUsed') * 100).toFixed(1)} %), ` +
        `external ${mb(report.warmed.external)} → ${mb(report.after.external)}; engine jobs started ${report.engine.startedInSoak}, workers crashed and replaced ${report.engine.crashedInSoak}, idle cuts ${report.idleCuts}`,
    );
    // Every request ended the way its kind should (a "!" marks an outcome that should not happen).
    expect(Object.keys(report.tally).filter((k) => k.endsWith('!'))).toEqual([]);
    expect(Object.values(report.tally).reduce((a, b) => a + b, 0)).toBe(report.requests);
    expect(Object.keys(report.tally).some((k) => k.startsWith('cut by the server (idle)'))).toBe(true);
    expect(report.engine.crashedInSoak).toBeGreaterThan(0);
    // Nothing left behind.
    expect(report.engine).toMatchObject({ workers: 2, busy: 0, queued: 0, active: 0, bufferedMs: 0 });
    expect(report.openStreams).toBe(0);
    expect(report.liveMp3Decoders).toBe(0);
    expect(report.openSockets).toBe(0);
    expect(report.timers.after).toBeLessThanOrEqual(report.timers.before);
    expect(report.warnings).toEqual([]);
    // Memory back within 10% of the warmed baseline.
    expect(change('rss')).toBeLessThan(0.1);
    expect(change('heapUsed')).toBeLessThan(0.1);
    // No time limit of vitest's: the run is bounded by its request count, and a hang by the watchdog above.
  }, 0);
});
