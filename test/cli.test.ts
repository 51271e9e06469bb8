// End-to-end tests of the `voxpipe` command: a real process, the real embedded server and engine.
import { decode } from '@voxpipe/codecs';
import { collect, fromBytes, pipeline } from '@voxpipe/core';
import { createServer, type ListeningServer, type VoxpipeServer } from '@voxpipe/server';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'packages', 'cli', 'src', 'main.ts');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function voxpipe(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      tsx,
      [main, ...args],
      { cwd: dir, env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '', ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(options.input ?? '');
  });
}

function readWav(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  return {
    riff: tag(0),
    wave: tag(8),
    riffSize: view.getUint32(4, true),
    channels: view.getUint16(22, true),
    sampleRate: view.getUint32(24, true),
    bits: view.getUint16(34, true),
    dataTag: tag(36),
    dataSize: view.getUint32(40, true),
  };
}

const hasAplay = (() => {
  try {
    execFileSync('aplay', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
let server: VoxpipeServer;
let listening: ListeningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxpipe-cli-'));
  server = createServer({ keys: ['right-key'], logger: false, env: {} });
  listening = await server.listen({ port: 0 });
  await server.ready();
});

afterAll(async () => {
  await listening?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('voxpipe say', () => {
  it('writes a valid WAV on the embedded default and prints the latency summary', async () => {
    const out = join(dir, 'hello.wav');
    const result = await voxpipe(['say', 'Hello from the command line.', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/time to first byte\s+\d+\.\d ms/);
    expect(result.stdout).toMatch(/real-time factor\s+\d/);
    const bytes = new Uint8Array(await readFile(out));
    const wav = readWav(bytes);
    expect(wav).toMatchObject({ riff: 'RIFF', wave: 'WAVE', channels: 1, sampleRate: 24000, bits: 16, dataTag: 'data' });
    expect(wav.dataSize).toBe(bytes.byteLength - 44);
    expect(wav.riffSize).toBe(bytes.byteLength - 8);
    const seconds = wav.dataSize / 2 / 24000;
    expect(seconds).toBeGreaterThan(0.8);
    expect(seconds).toBeLessThan(5);
    const { value } = await pipeline(fromBytes(bytes), decode(), collect()).done;
    const samples = value!.pcm!.channels[0];
    expect(samples.length).toBe(wav.dataSize / 2);
    expect(Math.max(...samples.map(Math.abs))).toBeGreaterThan(0.05);
  });

  it('writes an MP3 that decodes, reading the text from stdin, and reports as JSON', async () => {
    const out = join(dir, 'stdin.mp3');
    const result = await voxpipe(['say', '-', '--out', out, '--json', '--model', 'aura-lite'], { input: 'Text from standard input.' });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ outcome: 'completed', embedded: true, out });
    expect(report.metrics.firstByteMs).toBeGreaterThanOrEqual(report.metrics.requestMs);
    expect(report.metrics.endMs).toBeGreaterThanOrEqual(report.metrics.firstAudioMs);
    const bytes = new Uint8Array(await readFile(out));
    const { value } = await pipeline(fromBytes(bytes), decode(), collect()).done;
    const seconds = value!.pcm!.channels[0].length / value!.pcm!.sampleRate;
    expect(value!.pcm!.sampleRate).toBe(24000);
    expect(seconds).toBeGreaterThan(0.8);
    expect(seconds).toBeLessThan(5);
    expect(Math.abs(seconds - report.metrics.audioMs / 1000)).toBeLessThan(0.2);
  });

  it('plays through the first player on PATH (a fake aplay that counts bytes)', async () => {
    const bin = join(dir, 'bin');
    const count = join(dir, 'played.txt');
    await import('node:fs/promises').then((fs) => fs.mkdir(bin, { recursive: true }));
    await writeFile(join(bin, 'aplay'), `#!/bin/sh\necho "$@" > "${count}.args"\nwc -c > "${count}"\n`);
    await chmod(join(bin, 'aplay'), 0o755);
    const result = await voxpipe(['say', 'Played aloud.', '--play', '--json', '--model', 'aura-lite'], {
      env: { PATH: `${bin}:${process.env.PATH}`, VOXPIPE_PLAYER: '' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    const played = Number((await readFile(count, 'utf8')).trim());
    expect(played).toBeGreaterThan(10_000);
    expect(played / 2 / 24000).toBeCloseTo(report.metrics.audioMs / 1000, 1);
    expect(await readFile(`${count}.args`, 'utf8')).toMatch(/24000/);
    expect(report.metrics.playbackStartMs).toBeGreaterThan(0);
  });

  it.runIf(hasAplay)('plays through real aplay on the ALSA null device', async () => {
    const home = join(dir, 'alsa-home');
    await import('node:fs/promises').then((fs) => fs.mkdir(home, { recursive: true }));
    await writeFile(join(home, '.asoundrc'), 'pcm.!default { type null }\n');
    const result = await voxpipe(['say', 'Played on the null device.', '--play', '--player', 'aplay', '--json', '--model', 'aura-lite'], { env: { HOME: home } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.outcome).toBe('completed');
    expect(report.metrics.audioMs).toBeGreaterThan(500);
    expect(report.metrics.playbackStartMs).toBeGreaterThan(0);
  });

  it('talks to any compatible server with --url and --api-key', async () => {
    const out = join(dir, 'remote.raw');
    const result = await voxpipe(['say', 'Over the network.', '--out', out, '--model', 'aura-lite', '--url', listening.url, '--api-key', 'right-key', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ embedded: false, url: listening.url });
    const bytes = await readFile(out);
    expect(bytes.byteLength % 2).toBe(0);
    expect(bytes.byteLength).toBeGreaterThan(24000);
  });
});

describe('voxpipe errors', () => {
  it('a bad model is a bad-request (exit 2) with the server message', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--model', 'nope-9']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^voxpipe: bad-request: .*nope-9/);
  });

  it('a wrong key is auth (exit 3)', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--url', listening.url, '--api-key', 'wrong-key']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^voxpipe: auth: /);
    expect(result.stderr).not.toContain('wrong-key');
  });

  it('a server that is down is network (exit 5)', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--url', 'http://127.0.0.1:9', '--api-key', 'k', '--retries', '0']);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^voxpipe: network: /);
  });

  it('an unwritable output path is a clear error (exit 2)', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'no', 'such', 'dir', 'x.wav')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^voxpipe: bad-request: .*no\/such\/dir\/x\.wav/);
  });

  it('an unknown output type and a missing command are usage errors', async () => {
    expect((await voxpipe(['say', 'Hi', '--out', join(dir, 'x.ogg')])).stderr).toMatch(/--out must end in/);
    const none = await voxpipe([]);
    expect(none.code).toBe(64);
    expect(none.stdout).toMatch(/Usage/);
  });
});

describe('voxpipe run', () => {
  it('runs a pipeline spec file', async () => {
    const out = join(dir, 'spec.wav');
    const spec = join(dir, 'spec.json');
    await writeFile(
      spec,
      JSON.stringify({
        stages: [
          { stage: 'ttsSource', options: { baseUrl: 'embedded', text: 'From a spec.', model: 'aura-lite' } },
          { stage: 'reconnect', options: { retries: 2 } },
          { stage: 'decode' },
          { stage: 'gain', options: { db: -3 } },
          { stage: 'wavFile', options: { path: out } },
        ],
      }),
    );
    const result = await voxpipe(['run', spec, '--json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'completed' });
    expect(readWav(new Uint8Array(await readFile(out)))).toMatchObject({ sampleRate: 24000, channels: 1 });
  });
});
