// Server instances in child processes (test/support/instance.ts): what several servers behind a balancer look like.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { START_MS } from './budgets.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'test', 'support', 'instance.ts');

export interface Instance {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  readonly output: string;
  /** Resolves with the exit code once the process exits. */
  readonly exited: Promise<number | null>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
}

/** Starts one server process with `options` (createServer's, plus `drainMs` for SIGTERM and the tone engine's `msPerChar`); resolves once it listens. */
export function startInstance(options: Record<string, unknown>): Promise<Instance> {
  // Node itself with tsx's loader (not the tsx command, which runs the script in a grandchild that a kill would orphan).
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, VOXPIPE_TEST_OPTIONS: JSON.stringify(options) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start:\n${output}`)), START_MS);
    const onData = (data: Buffer) => {
      output += data.toString();
      const url = /^listening (\S+)$/m.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({
          url,
          child,
          get output() {
            return output;
          },
          exited,
          async kill() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited (${code}) before listening:\n${output}`));
    });
  });
}
