// A sound server for Firefox: its AudioContext stays suspended without one.
// Uses the PulseAudio daemon already running for this user, or starts Debian's
// `pulseaudio` with a null sink (no sound card needed) and stops it afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../budgets.js';

export const PULSEAUDIO = process.env.VOXPIPE_PULSEAUDIO ?? '/usr/bin/pulseaudio';

export interface SoundServer {
  /** Environment for the browser: where the server's socket is (empty when the user's own daemon serves). */
  env: Record<string, string>;
  /** Whether this process started it. */
  started: boolean;
  stop(): Promise<void>;
}

/** The user's running PulseAudio, or a new one on a null sink whose socket lives in a temp dir. */
export async function soundServer(): Promise<SoundServer> {
  if (spawnSync(PULSEAUDIO, ['--check']).status === 0) return { env: {}, started: false, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'voxpipe-pulse-'));
  const socket = join(dir, 'native');
  const env = { ...process.env, PULSE_RUNTIME_PATH: dir, PULSE_STATE_PATH: dir, HOME: dir };
  const child: ChildProcess = spawn(
    PULSEAUDIO,
    ['-n', '--daemonize=no', '--use-pid-file=no', '--exit-idle-time=-1', '--disallow-exit', '-L', `module-native-protocol-unix socket=${socket} auth-anonymous=1`, '-L', 'module-null-sink sink_name=voxpipe_null', '-L', 'module-always-sink'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await eventually(() => existsSync(socket) || child.exitCode !== null);
  if (!ready || child.exitCode !== null) {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pulseaudio did not start: ${stderr.trim()}`);
  }
  return {
    env: { PULSE_SERVER: `unix:${socket}` },
    started: true,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
