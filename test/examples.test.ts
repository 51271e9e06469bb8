// Every example runs as its header says, in a fresh folder, and leaves what it promises.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_MS, limitFor } from './support/budgets.js';

const root = join(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
let dir: string;

function run(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, [join(root, file), ...args], { cwd: dir, env: { ...process.env, ...env }, timeout: CHILD_MS }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function wavSeconds(path: string): Promise<number> {
  const bytes = await readFile(path);
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
  const rate = bytes.readUInt32LE(24);
  const blockAlign = bytes.readUInt16LE(32);
  return bytes.readUInt32LE(40) / blockAlign / rate;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxpipe-examples-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('examples', () => {
  it('pcm-pipeline prints its events and collects one second', async () => {
    const result = await run('examples/pcm-pipeline.ts');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/collected 24000 samples at 24000 Hz/);
    expect(result.stdout).toMatch(/first-audible/);
  }, limitFor(CHILD_MS));

  it('node-to-wav writes speech to a WAV', async () => {
    const result = await run('examples/node-to-wav.ts', ['Testing the example.']);
    expect(result.code).toBe(0);
    expect(await wavSeconds(join(dir, 'node-to-wav.wav'))).toBeGreaterThan(0.5);
  }, limitFor(CHILD_MS));

  it('node-play plays through the player on PATH', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'aplay'), `#!/bin/sh\nwc -c > "${join(dir, 'played')}"\n`);
    await chmod(join(bin, 'aplay'), 0o755);
    const result = await run('examples/node-play.ts', ['Playing the example.'], { PATH: `${bin}:${process.env.PATH}`, VOXPIPE_PLAYER: '' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/completed: playback started/);
    expect(Number((await readFile(join(dir, 'played'), 'utf8')).trim())).toBeGreaterThan(24_000);
  }, limitFor(CHILD_MS));

  it('node-play and voice-assistant --play say in one line that there is no sound card, and exit non-zero', async () => {
    // An aplay that finds no sound card, as on a server without one.
    const bin = join(dir, 'no-card-bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'aplay'), '#!/bin/sh\ncat > /dev/null &\necho "aplay: main:831: audio open error: No such device" >&2\nexit 1\n');
    await chmod(join(bin, 'aplay'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}`, VOXPIPE_PLAYER: '' };
    for (const [file, args] of [['examples/node-play.ts', []], ['examples/voice-assistant.ts', ['--play']]] as const) {
      const result = await run(file, [...args], env);
      expect(result.code, file).not.toBe(0);
      const name = file.slice('examples/'.length, -3);
      expect(result.stderr, file).toMatch(new RegExp(`^${name}: device: No audio output device: "aplay" could not open one .*\\n$`));
      expect(result.stderr, file).not.toMatch(/\n\s+at /);
    }
  }, limitFor(2 * CHILD_MS));

  it('telephony writes whole 20 ms µ-law frames at 8 kHz', async () => {
    const result = await run('examples/telephony.ts', ['Please hold.']);
    expect(result.code).toBe(0);
    const size = (await stat(join(dir, 'telephony.ulaw'))).size;
    expect(size % 160).toBe(0);
    expect(result.stdout).toContain(`${size / 160} frames`);
  }, limitFor(CHILD_MS));

  it('custom-pipeline.json runs with voxpipe run', async () => {
    const result = await run('packages/cli/src/main.ts', ['run', join(root, 'examples', 'custom-pipeline.json')]);
    expect(result.code).toBe(0);
    expect(await wavSeconds(join(dir, 'custom-pipeline.wav'))).toBeGreaterThan(0.5);
  }, limitFor(CHILD_MS));

  it('voice-assistant speaks two answers, the second cut by a barge-in', async () => {
    const result = await run('examples/voice-assistant.ts');
    expect(result.code).toBe(0);
    expect(await wavSeconds(join(dir, 'voice-assistant-1.wav'))).toBeGreaterThan(1);
    expect(await wavSeconds(join(dir, 'voice-assistant-2.wav'))).toBeGreaterThan(0.2);
    // What was heard before the barge-in: a prefix of the answer as written, ending at a word.
    const answer = 'Here is the long-range forecast for the whole week. Monday is cool and bright.';
    const [, words, heard] = /heard before the cut \((\d+) words\): "(.*)"/.exec(result.stdout) ?? [];
    expect(heard, result.stdout).toBeDefined();
    expect(Number(words)).toBeGreaterThan(0);
    expect(answer.startsWith(heard), heard).toBe(true);
    expect(answer.slice(heard.length)).toMatch(/^(\s|$)/);
  }, limitFor(CHILD_MS));
});
