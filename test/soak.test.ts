// Soak: many requests with a random mix of completions, client aborts at
// random points (some mid-MP3-decode), and server-side disconnects (worker
// crashes, synthesis failures, idle cuts). Afterwards nothing is left: no
// engine job, open stream, MP3 decoder, timer or socket, and memory is back
// within 10% of its warmed baseline (gc forced). The clients run in a child
// process (soak-run.ts) and the server in a grandchild (soak-server.ts, with
// --expose-gc), so the memory figures are the server's alone.
// CI: 150 requests; VOXPIPE_HEAVY=1: 1,000. SOAK_SEED=<n> replays a mix.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const HEAVY = process.env.VOXPIPE_HEAVY === '1';
const root = join(import.meta.dirname, '..');

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
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        join(root, 'node_modules', '.bin', 'tsx'),
        [join(root, 'test', 'support', 'soak-run.ts')],
        { env: { ...process.env, SOAK_REQUESTS: String(HEAVY ? 1000 : 150) }, timeout: HEAVY ? 900_000 : 150_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => (error ? reject(new Error(`soak run failed: ${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
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
  });
});
