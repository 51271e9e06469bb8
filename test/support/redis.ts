// A real redis-server for tests of state shared between servers: on a free loopback port, no persistence, stopped by
// the test (redis-cli, from the same Debian package's dependency redis-tools, empties it). Tests that need it are skipped (with "redis-server" in their name) where Debian's redis-server is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { SETTLE } from './budgets.js';

/** Whether Debian's redis-server is installed. */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Empties it (redis-cli FLUSHALL). */
  flush(): void;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on a free port and resolves once it accepts connections. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
      child = started;
      let said = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${said}`)), SETTLE.timeout);
      started.stdout!.on('data', (data: Buffer) => {
        said += data.toString();
        if (/Ready to accept connections/.test(said)) {
          clearTimeout(timer);
          started.stdout!.resume();
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${said}`));
      });
    });
  const end = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return resolve();
      running.removeAllListeners('exit');
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  await launch();
  const flush = () => {
    const done = spawnSync('redis-cli', ['-p', String(port), 'FLUSHALL'], { encoding: 'utf8' });
    if (done.status !== 0 || !/OK/.test(done.stdout)) throw new Error(`redis-cli FLUSHALL failed: ${done.stdout}${done.stderr}`);
  };
  return { url: `redis://127.0.0.1:${port}`, port, kill: () => end('SIGKILL'), restart: launch, flush, stop: () => end('SIGTERM') };
}
