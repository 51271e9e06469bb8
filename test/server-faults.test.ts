// Faults: an engine worker dies mid-stream, the port is taken, the engine
// package is missing, the output path cannot be written. Each ends with a
// clear message (and, for the command, a distinct exit code); nothing else breaks.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VoxpipeError } from '../packages/core/src/index.js';
import { createEspeakEngine, type EspeakEngine, type EspeakSynthesisRequest } from '../packages/engine-espeak/src/index.js';
import { createServer, type ListeningServer, type VoxpipeServer } from '../packages/server/src/index.js';
import { CHILD_MS, limitFor, SETTLE } from './support/budgets.js';
import { longText, ttsStream } from './support/tts-server.js';

const root = join(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'packages', 'cli', 'src', 'main.ts');
const WAIT = SETTLE;

function voxpipe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(tsx, [main, ...args], { env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '', ...env }, timeout: CHILD_MS }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end();
  });
}

describe('an engine worker crashes mid-stream', () => {
  let engine: EspeakEngine;
  let server: VoxpipeServer;
  let listening: ListeningServer;
  const lines: string[] = [];
  /** The id the server knows the "crash" key by (its logs and hooks never see the key itself). */
  const crashKeyId = createHash('sha256').update('sk-crash').digest('hex').slice(0, 8);

  beforeAll(async () => {
    engine = await createEspeakEngine({ workers: 2 });
    const log = (m: string) => lines.push(m);
    server = createServer({
      engine,
      keys: ['sk-normal', 'sk-crash'],
      env: {},
      logger: { info: log, warn: log, error: log },
      // Test path, set in code: requests made with the "crash" key kill their worker after 3 pieces.
      // API callers cannot reach the engine's __test hooks: the server builds every engine request itself.
      hooks: {
        synthesis: (request, { keyId }) => (keyId === crashKeyId ? ({ ...request, __test: { crashAfterChunks: 3 } } as EspeakSynthesisRequest) : request),
      },
    });
    listening = await server.listen();
  });
  afterAll(async () => {
    await listening?.close();
    await engine?.close();
  });
  it('that stream is cut (a strict prefix of the right audio, no error text inside), the worker is replaced, the others finish intact', async () => {
    const errors = vi.spyOn(console, 'error');
    const infos = vi.spyOn(console, 'info');
    const crashBody = { text: longText(600), voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' };
    const others = [
      { text: 'The second stream keeps going while a worker dies.', voice: 'Anna', language: 'en-US', model: 'aura-lite', format: 'pcm' },
      { text: 'So does the third one, sentence by sentence.', voice: 'Emma', language: 'en-GB', model: 'rapid-flash', format: 'mp3' },
    ];
    const references = await Promise.all(others.map((b) => ttsStream(listening.url, b, { 'X-API-Key': 'sk-normal' })));
    const crashReference = await ttsStream(listening.url, crashBody, { 'X-API-Key': 'sk-normal' });
    const before = engine.stats();

    const crashed = new Promise<{ bytes: Buffer; complete: boolean; status: number }>((resolve, reject) => {
      const req = httpRequest(`${listening.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': 'sk-crash', 'Content-Type': 'application/json' } }, (res) => {
        const parts: Buffer[] = [];
        let settled = false;
        const done = () => {
          if (settled) return;
          settled = true;
          resolve({ bytes: Buffer.concat(parts), complete: res.complete, status: res.statusCode ?? 0 });
        };
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', done);
        res.on('aborted', done);
        res.on('error', done);
        res.on('close', done);
      });
      req.on('error', reject);
      req.end(JSON.stringify(crashBody));
    });
    const [cut, ...rest] = await Promise.all([crashed, ...others.map((b) => ttsStream(listening.url, b, { 'X-API-Key': 'sk-normal' }))]);

    expect(cut.status).toBe(200);
    expect(cut.complete).toBe(false);
    expect(cut.bytes.byteLength).toBeLessThan(crashReference.bytes.byteLength);
    expect(cut.bytes.equals(Buffer.from(crashReference.bytes.subarray(0, cut.bytes.byteLength)))).toBe(true);
    for (const [i, heard] of rest.entries()) {
      expect(heard.status).toBe(200);
      expect(Buffer.from(heard.bytes).equals(Buffer.from(references[i].bytes))).toBe(true);
    }
    await vi.waitFor(() => expect(engine.stats()).toMatchObject({ workers: 2, crashed: before.crashed + 1, failed: before.failed + 1, busy: 0, active: 0 }), WAIT);
    await vi.waitFor(() => expect(server.openStreams).toBe(0), WAIT);
    const said = lines.find((line) => /stream failed mid-way/.test(line));
    expect(said).toMatch(/espeak worker crashed/);
    expect(said).toContain(crashKeyId);
    // The HTTP adapter was never handed an exception to print.
    expect([...errors.mock.calls, ...infos.mock.calls].flat().join(' ')).not.toMatch(/crash|aborted a request/i);
    errors.mockRestore();
    infos.mockRestore();
    console.log(`[faults] worker crash: crashed stream cut after ${cut.bytes.byteLength} of ${crashReference.bytes.byteLength} bytes; log: ${said}`);
    // And the replaced worker serves as before.
    const after = await ttsStream(listening.url, others[0], { 'X-API-Key': 'sk-normal' });
    expect(Buffer.from(after.bytes).equals(Buffer.from(references[0].bytes))).toBe(true);
  });
});

describe('start-up faults', () => {
  let dir: string;
  let holder: NetServer;
  let heldPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'voxpipe-faults-'));
    holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    heldPort = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a port already in use: listen() rejects with a network error that says so', async () => {
    const engine = await createEspeakEngine({ workers: 1 });
    try {
      const server = createServer({ engine, keys: ['k'], env: {}, logger: false });
      const error = await server.listen({ port: heldPort }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('network');
      expect((error as VoxpipeError).message).toBe(`Port ${heldPort} on 127.0.0.1 is already in use: stop the other server or pick another port (--port, or 0 for any free one)`);
      await server.close();
    } finally {
      await engine.close();
    }
  });

  it('a missing engine package: ready() and listen() reject with a message that says what to install', async () => {
    const server = createServer({ engineModule: '@voxpipe/engine-nonexistent', keys: ['k'], env: {}, logger: false });
    for (const attempt of [server.ready(), server.listen()]) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('internal');
      expect((error as VoxpipeError).message).toMatch(/^The speech engine package "@voxpipe\/engine-nonexistent" is not installed\. Install it \(npm install @voxpipe\/engine-nonexistent\)/);
    }
    // A request meanwhile is a JSON 500, not a hang.
    const res = await server.app.fetch(new Request('http://x/v1/voices'));
    expect(res.status).toBe(500);
    await server.close();
  });

  it('voxpipe serve: port in use → exit 5 with the message; missing engine → exit 1 with the message', async () => {
    const [taken, missing] = await Promise.all([
      voxpipe(['serve', '--port', String(heldPort)]),
      voxpipe(['serve', '--port', '0'], { VOXPIPE_ENGINE_MODULE: '@voxpipe/engine-nonexistent' }),
    ]);
    console.log(`[faults] voxpipe serve --port ${heldPort} (taken): exit ${taken.code}: ${taken.stderr.trim()}`);
    console.log(`[faults] voxpipe serve (engine missing): exit ${missing.code}: ${missing.stderr.trim()}`);
    expect(taken.code).toBe(5);
    expect(taken.stderr).toBe(`voxpipe: network: Port ${heldPort} on 127.0.0.1 is already in use: stop the other server or pick another port (--port, or 0 for any free one)\n`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^voxpipe: internal: The speech engine package "@voxpipe\/engine-nonexistent" is not installed/);
  }, limitFor(CHILD_MS)); // two commands side by side, each ended after CHILD_MS

  it('voxpipe say: an output path that is a directory, or under a file, is a clear error (exit 2)', async () => {
    const asDir = join(dir, 'taken.wav');
    await mkdir(asDir);
    const [directory, underFile] = await Promise.all([
      voxpipe(['say', 'Hi', '--out', asDir, '--model', 'aura-lite']),
      voxpipe(['say', 'Hi', '--out', join(main, 'x.wav'), '--model', 'aura-lite']),
    ]);
    console.log(`[faults] voxpipe say --out <directory>: exit ${directory.code}: ${directory.stderr.trim()}`);
    console.log(`[faults] voxpipe say --out <file>/x.wav: exit ${underFile.code}: ${underFile.stderr.trim()}`);
    for (const result of [directory, underFile]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^voxpipe: bad-request: /);
    }
    expect(directory.stderr).toContain(asDir);
  }, limitFor(CHILD_MS));
});
