// End-to-end tests of the `voxpipe` command: a real process, the real embedded server and engine.
import { decode } from '@voxpipe/codecs';
import { collect, fromBytes, pcmEncode, pipeline, ttsSource } from '@voxpipe/core';
import { createServer, type ListeningServer, type VoxpipeServer } from '@voxpipe/server';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_MS, limitFor } from './support/budgets.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';

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
      { cwd: dir, env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '', ...options.env }, timeout: CHILD_MS },
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
  }, limitFor(CHILD_MS));

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
  }, limitFor(CHILD_MS));

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
  }, limitFor(CHILD_MS));

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

  it('works on the embedded server with VOXPIPE_API_KEY or --api-key set for another server', async () => {
    const viaEnv = await voxpipe(['say', 'Keyed.', '--out', join(dir, 'keyed-env.wav'), '--model', 'aura-lite'], { env: { VOXPIPE_API_KEY: 'key-for-elsewhere' } });
    expect(viaEnv.stderr).toBe('');
    expect(viaEnv.code).toBe(0);
    const viaFlag = await voxpipe(['say', 'Keyed.', '--out', join(dir, 'keyed-flag.wav'), '--model', 'aura-lite', '--api-key', 'key-for-elsewhere']);
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stdout).toMatch(/^wrote \d+\.\d\d s \([\d,]+ bytes\) to .*keyed-flag\.wav \(embedded server\)/);
  }, limitFor(2 * CHILD_MS));

  it('talks to any compatible server with --url and --api-key', async () => {
    const out = join(dir, 'remote.raw');
    const result = await voxpipe(['say', 'Over the network.', '--out', out, '--model', 'aura-lite', '--url', listening.url, '--api-key', 'right-key', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ embedded: false, url: listening.url });
    const bytes = await readFile(out);
    expect(bytes.byteLength % 2).toBe(0);
    expect(bytes.byteLength).toBeGreaterThan(24000);
  }, limitFor(CHILD_MS));
});

describe('voxpipe errors', () => {
  it('an unknown model is a usage error (exit 64) listing the models and naming the closest', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--model', 'nope-9']);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/^voxpipe: usage: Unknown model "nope-9"; the closest is "[a-z0-9-]+"\. Models: aura-lite, aura, aura-2, rapid-max, rapid-flash, and other aura-\* names\.\n$/);
    const typo = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--model', 'aura-lit']);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toMatch(/^voxpipe: usage: Unknown model "aura-lit"; did you mean "aura-lite"\?/);
    expect(existsSync(join(dir, 'x.wav'))).toBe(false);
  }, limitFor(2 * CHILD_MS));

  it('a wrong key is auth (exit 3)', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--url', listening.url, '--api-key', 'wrong-key']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^voxpipe: auth: /);
    expect(result.stderr).not.toContain('wrong-key');
  }, limitFor(CHILD_MS));

  it('a server that is down is network (exit 5)', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'x.wav'), '--url', 'http://127.0.0.1:9', '--api-key', 'k', '--retries', '0']);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^voxpipe: network: /);
  }, limitFor(CHILD_MS));

  it('an error before any audio leaves no output file, and an earlier one untouched', async () => {
    const cases: Array<[string[], number]> = [
      [['--url', listening.url, '--api-key', 'wrong-key'], 3],
      [['--url', 'http://127.0.0.1:9', '--api-key', 'k', '--retries', '0'], 5],
      [['--speed', '9'], 2],
    ];
    for (const [ext, i] of [['wav', 0], ['mp3', 1], ['raw', 2]] as const) {
      for (const [args, code] of cases) {
        const out = join(dir, `nothing-${i}.${ext}`);
        const result = await voxpipe(['say', 'Hi', '--out', out, '--model', 'aura-lite', ...args]);
        expect(result.code).toBe(code);
        expect(result.stderr).not.toMatch(/kept/);
        expect(existsSync(out)).toBe(false);
      }
    }
    const earlier = join(dir, 'earlier.wav');
    await writeFile(earlier, 'an earlier take');
    expect((await voxpipe(['say', 'Hi', '--out', earlier, '--speed', '9'])).code).toBe(2);
    expect(await readFile(earlier, 'utf8')).toBe('an earlier take');
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  }, limitFor(10 * CHILD_MS)); // three formats × three failures, and the earlier file

  it('a missing audio player is a device error (exit 9) that says what to do', async () => {
    // Only node on PATH: no aplay, paplay, ffplay, play or afplay.
    const onlyNode = join(dir, 'only-node');
    await mkdir(onlyNode, { recursive: true });
    await symlink(process.execPath, join(onlyNode, 'node')).catch(() => {});
    const result = await voxpipe(['say', 'Hi', '--play', '--model', 'aura-lite'], { env: { PATH: onlyNode, VOXPIPE_PLAYER: '' } });
    expect(result.code).toBe(9);
    expect(result.stderr).toMatch(/^voxpipe: device: No audio player found on PATH \(looked for aplay, .*\)\. Install one .*--out/);
  }, limitFor(CHILD_MS));

  it('a player that finds no sound card is a device error (exit 9) naming what it said', async () => {
    const bin = join(dir, 'no-card-bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'aplay'), '#!/bin/sh\ncat > /dev/null &\necho "aplay: main:831: audio open error: No such device" >&2\nexit 1\n');
    await chmod(join(bin, 'aplay'), 0o755);
    const result = await voxpipe(['say', 'Hi', '--play', '--model', 'aura-lite'], { env: { PATH: `${bin}:${process.env.PATH}`, VOXPIPE_PLAYER: '' } });
    expect(result.code).toBe(9);
    expect(result.stderr).toMatch(/^voxpipe: device: No audio output device: "aplay" could not open one \(aplay: main:831: audio open error: No such device\)\. .*sound card/);
  }, limitFor(CHILD_MS));

  it.runIf(hasAplay)('real aplay pointed at a missing sound card is a device error (exit 9)', async () => {
    const home = join(dir, 'missing-card-home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.asoundrc'), 'pcm.!default { type hw card "voxpipe_missing" }\n');
    const result = await voxpipe(['say', 'Hi', '--play', '--player', 'aplay', '--model', 'aura-lite'], { env: { HOME: home } });
    expect(result.code).toBe(9);
    expect(result.stderr).toMatch(/^voxpipe: device: No audio output device: "aplay" could not open one/);
  });

  it('an unwritable output path is a clear error (exit 2)', async () => {
    const result = await voxpipe(['say', 'Hi', '--out', join(dir, 'no', 'such', 'dir', 'x.wav')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^voxpipe: bad-request: .*no\/such\/dir\/x\.wav/);
  }, limitFor(CHILD_MS));

  it('an unknown output type and a missing command are usage errors', async () => {
    expect((await voxpipe(['say', 'Hi', '--out', join(dir, 'x.aiff')])).stderr).toMatch(/--out must end in/);
    const none = await voxpipe([]);
    expect(none.code).toBe(64);
    expect(none.stdout).toMatch(/Usage/);
  }, limitFor(2 * CHILD_MS));
});

describe('voxpipe say through a proxy that changes the text on the reconnect', () => {
  const TEXT = 'The first text, long enough to be cut part-way through.';
  const OTHER = 'Another text altogether, which the proxy sends instead.';
  const CUT = 30_011;
  let proxy: FaultProxy;
  /** What `say --out x.raw` writes for a text when nothing goes wrong: the server's PCM, decoded and encoded again. */
  const rawOf = async (text: string) =>
    (await pipeline(ttsSource({ baseUrl: listening.url, apiKey: 'right-key', text, model: 'aura-lite', format: 'pcm' }), decode(), pcmEncode({ encoding: 's16le' }), collect({ kind: 'bytes' })).done).value!.bytes!;
  const args = (out: string) => ['say', TEXT, '--out', out, '--model', 'aura-lite', '--format', 'pcm', '--url', proxy.url, '--api-key', 'right-key'];

  beforeAll(async () => {
    proxy = await startFaultProxy(listening.url);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('exits with resume-mismatch (10) and leaves only the first stream, never a splice', async () => {
    const first = await rawOf(TEXT);
    expect(first.byteLength).toBeGreaterThan(CUT);
    const out = join(dir, 'mismatch.raw');
    proxy.plan({ dropAfter: CUT }, { rewrite: { text: OTHER } });
    const result = await voxpipe(args(out));
    expect(result.code).toBe(10);
    expect(result.stderr).toMatch(/^voxpipe: resume-mismatch: Cannot resume the stream at byte 30011: .*another stream/);
    expect(proxy.pending()).toBe(0);
    // what it kept is the first stream's start, up to the cut, and nothing after
    const kept = new Uint8Array(await readFile(out));
    expect(kept.byteLength).toBeLessThanOrEqual(CUT);
    expect(kept.byteLength).toBeGreaterThan(CUT - 100);
    expect(kept).toEqual(first.subarray(0, kept.byteLength));
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  }, limitFor(CHILD_MS));

  it('with --on-mismatch restart starts the file over: it holds exactly the other stream', async () => {
    const other = await rawOf(OTHER);
    const out = join(dir, 'restarted.raw');
    // the reconnect (answered 200 with the other stream, by If-Range), then the new run's request
    proxy.plan({ dropAfter: CUT }, { rewrite: { text: OTHER } }, { rewrite: { text: OTHER } });
    const result = await voxpipe([...args(out), '--on-mismatch', 'restart', '--json']);
    expect(result.stderr).toMatch(/^voxpipe: starting .*restarted\.raw over: .*another stream/);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'completed', restarts: 1 });
    expect(proxy.pending()).toBe(0);
    expect(new Uint8Array(await readFile(out))).toEqual(other);
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  }, limitFor(CHILD_MS));

  it('--on-mismatch takes fail or restart, and restart only with --out', async () => {
    const bad = await voxpipe(['say', 'Hi', '--out', join(dir, 'never.wav'), '--on-mismatch', 'splice']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^voxpipe: usage: --on-mismatch must be fail or restart/);
    const toStdout = await voxpipe(['say', 'Hi', '--on-mismatch', 'restart']);
    expect(toStdout.code).toBe(64);
    expect(toStdout.stderr).toMatch(/^voxpipe: usage: --on-mismatch restart needs --out/);
  }, limitFor(2 * CHILD_MS));
});

describe('voxpipe say, interrupted', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(listening.url);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('on Ctrl-C finishes the WAV for what was written, says how much and where, and exits 130', async () => {
    const out = join(dir, 'interrupted.wav');
    // Minutes of speech, within the server's 5,000 characters; the engine makes them in about a second, so the proxy
    // holds the answer after 2 s of audio: the command is still running, however fast, when Ctrl-C comes.
    const text = 'This sentence is one of many in a long text that keeps the speech going for minutes. '.repeat(55);
    proxy.plan({ stallAfter: 96_000 });
    const child = execFile(tsx, [main, 'say', text, '--out', out, '--model', 'aura-lite', '--format', 'pcm', '--url', proxy.url, '--api-key', 'right-key'], {
      cwd: dir,
      env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until a good part of a second of audio has reached the (temporary) file, then press Ctrl-C.
    const growing = async () => {
      for (const name of await readdir(dir)) if (name.startsWith('.interrupted.wav.') && (await stat(join(dir, name))).size > 48_000) return true;
      return false;
    };
    let ended = false;
    void exited.then(() => (ended = true));
    while (!ended && !(await growing())) await new Promise((r) => setTimeout(r, 100));
    expect(ended, `the command finished before it could be interrupted: ${stderr}`).toBe(false);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const said = /^voxpipe: interrupted; wrote (\d+\.\d\d) s \(([\d,]+) bytes\) to (.+)\n$/.exec(stderr);
    expect(said, stderr).not.toBeNull();
    expect(said![3]).toBe(out);
    const bytes = new Uint8Array(await readFile(out));
    const wav = readWav(bytes);
    expect(wav).toMatchObject({ riff: 'RIFF', wave: 'WAVE', dataTag: 'data', sampleRate: 24000, channels: 1 });
    expect(wav.riffSize).toBe(bytes.byteLength - 8);
    expect(wav.dataSize).toBe(bytes.byteLength - 44);
    expect(wav.dataSize).toBe(Number(said![2].replaceAll(',', '')));
    expect(Number(said![1])).toBeCloseTo(wav.dataSize / 48_000, 2);
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  }, limitFor(CHILD_MS));
});

describe('voxpipe help', () => {
  it('say --help says that without --out raw PCM goes to stdout', async () => {
    const result = await voxpipe(['say', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/stdout as raw PCM \(s16le 24 kHz mono\)/);
  }, limitFor(CHILD_MS));

  it('bench --help lists every benchmark', async () => {
    const result = await voxpipe(['bench', '--help']);
    const listed = /some of: ([a-z -]+)\)/.exec(result.stdout)![1].split(' ');
    const files = (await readdir(join(root, 'bench'))).filter((f) => f.endsWith('.ts') && f !== 'run.ts').map((f) => f.slice(0, -3));
    expect(listed.sort()).toEqual(files.sort());
    expect(listed).toEqual(expect.arrayContaining(['speak', 'load']));
  }, limitFor(CHILD_MS));
});

describe('voxpipe serve', () => {
  it('--help lists the CORS, proxy and config flags and a flag for every limit', async () => {
    const result = await voxpipe(['serve', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--config <file>', '--cors-origins <origins>', '--trust-proxy', '--redis <url>', '--redis-when-down <mode>', '--cache-bytes <n>', '--metrics-token <token>', '--metrics-port <port>', '--drain-ms <ms>', '--max-body-bytes <n>', '--headers-timeout-ms <n>', '--body-timeout-ms <n>', '--auth-failures <n>', '--auth-failure-window-ms <n>', '--idle-timeout-ms <n>']) {
      expect(result.stdout).toContain(flag);
    }
  }, limitFor(CHILD_MS));

  it('a bad limit, origin or config file is a usage error (exit 64) that names it, before anything starts', async () => {
    const config = join(dir, 'bad-serve.json');
    await writeFile(config, JSON.stringify({ limits: { maxBodyBytes: 10 } }));
    const cases: Array<[string[], string]> = [
      [['serve', '--burst', '0'], 'voxpipe: usage: --burst must be from 1 to 1000000000, not 0\n'],
      [['serve', '--cors-origins', 'not-an-origin'], 'voxpipe: usage: --cors-origins: "not-an-origin" is not an origin such as https://app.example (scheme, host and port only)\n'],
      [['serve', '--config', config], `voxpipe: usage: --config ${config}: limits.maxBodyBytes must be from 256 to 67108864, not 10\n`],
    ];
    const results = await Promise.all(cases.map(([args]) => voxpipe(args)));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(cases.map(([, said]) => [64, said]));
  }, limitFor(CHILD_MS));

  it('serves with the limits and CORS origins of --config, flags over them', async () => {
    const config = join(dir, 'serve.json');
    await writeFile(config, JSON.stringify({ keys: ['serve-key-0123456789'], corsOrigins: ['https://app.example'], limits: { maxBodyBytes: 5000, authFailures: 2 } }));
    const child = spawn(tsx, [main, 'serve', '--config', config, '--port', '0', '--max-body-bytes', '600'], { cwd: dir, env: { ...process.env, VOXPIPE_API_KEYS: '' }, timeout: CHILD_MS });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const collect = (d: Buffer) => {
          out += d.toString();
          const found = /listening on (http:\/\/\S+)/.exec(out);
          if (found) resolve(found[1]);
        };
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.on('exit', () => reject(new Error(`voxpipe serve exited: ${out}`)));
      });
      const post = (key: string, body: string) => fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body });
      const big = await post('serve-key-0123456789', JSON.stringify({ text: 'x'.repeat(1000) }));
      expect([big.status, ((await big.json()) as { error: { message: string } }).error.message]).toEqual([413, 'The request body is larger than 600 bytes']);
      const preflight = (origin: string) => fetch(`${url}/v1/tts/stream`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
      expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      const wrong = [];
      for (let i = 0; i < 3; i++) {
        const res = await post('wrong-key', '{}');
        await res.arrayBuffer();
        wrong.push(res.status);
      }
      expect(wrong).toEqual([401, 401, 429]);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, limitFor(CHILD_MS));
});

describe('voxpipe run', () => {
  it('names the file, line and column of a malformed spec (exit 2)', async () => {
    const spec = join(dir, 'broken.json');
    await writeFile(spec, '{"stages": [\n  {"stage": "tone"},\n  {"stage" "wavFile"}\n]}\n');
    const result = await voxpipe(['run', spec]);
    expect(result.code).toBe(2);
    expect(result.stderr.startsWith(`voxpipe: bad-request: Spec ${spec} is not valid JSON at line 3, column 12: `)).toBe(true);
  }, limitFor(CHILD_MS));

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
  }, limitFor(CHILD_MS));
});
