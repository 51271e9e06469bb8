// A client that stops reading: the server keeps at most ~1 s of audio for it
// (the engine drops the surplus and remakes it later, identically), no worker
// waits on it, and the stream then completes byte for byte — or, past the
// stated idle limit, is ended and logged.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEspeakEngine, type EspeakEngine } from '../packages/engine-espeak/src/index.js';
import { createServer, type ListeningServer, type VoxpipeServer } from '../packages/server/src/index.js';
import { SETTLE } from './support/budgets.js';
import { longText } from './support/tts-server.js';

const KEY = 'sk-backpressure-test';
/** The pause is 60 s; scaled down 40× here (and the engine's stall detection likewise: 1 s → 150 ms). */
const STALL_MS = 1500;
const WAIT = SETTLE;

let engine: EspeakEngine;
let server: VoxpipeServer;
let listening: ListeningServer;
const lines: string[] = [];

beforeAll(async () => {
  engine = await createEspeakEngine({ workers: 2, stallMs: 150 });
  const log = (m: string) => lines.push(m);
  // The idle limit is not what this server shows (the last test has a server of its own for that): it is
  // far past the client's sleep plus however long a busy machine takes to see the engine evict.
  server = createServer({ engine, keys: [KEY], env: {}, logger: { info: log, warn: log, error: log }, limits: { idleTimeoutMs: 600_000 } });
  listening = await server.listen();
});
afterAll(async () => {
  await listening?.close();
  await engine?.close();
});

function open(body: unknown): Promise<{ res: IncomingMessage; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${listening.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' } }, (res) =>
      resolve({ res, destroy: () => req.destroy() }),
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Reads until `n` bytes have come, then pauses; resolves with the bytes so far. */
function readSome(res: IncomingMessage, n: number, into: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer) => {
      into.push(chunk);
      got += chunk.byteLength;
      if (got >= n) {
        res.pause();
        res.off('data', onData);
        resolve();
      }
    };
    res.on('data', onData);
    res.resume();
  });
}

function readRest(res: IncomingMessage, into: Buffer[]): Promise<{ complete: boolean }> {
  return new Promise((resolve) => {
    res.on('data', (chunk: Buffer) => into.push(chunk));
    res.on('end', () => resolve({ complete: res.complete }));
    res.on('error', () => resolve({ complete: false }));
    res.on('aborted', () => resolve({ complete: false }));
    res.resume();
  });
}

describe('a client that stops reading', () => {
  // In-process (app.fetch), so what is measured is the server's own holding, not the kernel's socket
  // buffers (on loopback those absorb up to tcp_wmem + tcp_rmem — here 4 + 32 MB — before the server sees any backpressure).
  it.each(['pcm', 'mp3'] as const)('aura-lite %s: the server holds ≤ 1 s of audio and no worker while it sleeps, then the stream completes byte for byte', async (format) => {
    const body = { text: longText(1200), voice: 'Peter', language: 'en-US', model: 'aura-lite', format };
    const call = () =>
      server.app.fetch(new Request('http://in-process/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
    const reference = Buffer.from(await (await call()).arrayBuffer());
    const before = engine.stats();
    const res = await call();
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    for (let got = 0; got < 4000; ) {
      const { value } = await reader.read();
      parts.push(value!);
      got += value!.byteLength;
    }
    // While the client sleeps: synthesis stops, the surplus past 1 s is dropped, no worker is held.
    await vi.waitFor(() => expect(engine.stats().evicted).toBeGreaterThan(before.evicted), WAIT);
    await new Promise((r) => setTimeout(r, STALL_MS));
    const held = engine.stats();
    console.log(`[backpressure ${format}] after ${STALL_MS} ms without reading: the engine holds ${held.bufferedMs.toFixed(0)} ms of audio for the client (busy workers ${held.busy}, evictions ${held.evicted - before.evicted})`);
    expect(held.bufferedMs).toBeLessThanOrEqual(1000);
    expect(held.bufferedMs).toBeGreaterThan(0);
    expect(held.busy).toBe(0);
    expect(held.active).toBe(before.active + 1);
    // Then the client reads on: every byte, exactly as an unhurried client got them.
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const got = Buffer.concat(parts);
    expect(got.byteLength).toBe(reference.byteLength);
    expect(got.equals(reference)).toBe(true);
    expect(engine.stats().resumed).toBeGreaterThan(before.resumed);
    await vi.waitFor(() => expect(server.openStreams).toBe(0), WAIT);
  });

  it('past the idle limit the stream is ended, logged, and everything is freed', async () => {
    const cutEngine = await createEspeakEngine({ workers: 1, stallMs: 150 });
    const said: string[] = [];
    const log = (m: string) => said.push(m);
    const cutter = createServer({ engine: cutEngine, keys: [KEY], env: {}, logger: { info: log, warn: log, error: log }, limits: { idleTimeoutMs: 600 } });
    const l = await cutter.listen();
    try {
      const { res } = await new Promise<{ res: IncomingMessage }>((resolve, reject) => {
        const req = httpRequest(`${l.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' } }, (r) => resolve({ res: r }));
        req.on('error', reject);
        req.end(JSON.stringify({ text: longText(5000), voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' }));
      });
      const parts: Buffer[] = [];
      await readSome(res, 4000, parts);
      const ended = new Promise<string>((resolve) => {
        res.on('aborted', () => resolve('aborted'));
        res.on('error', () => resolve('error'));
        res.on('close', () => resolve(res.complete ? 'complete' : 'cut'));
      });
      // The client sleeps far longer than the limit (kernel buffers fill first, then the server waits 0.6 s).
      await vi.waitFor(() => expect(cutter.idleCuts).toBe(1), WAIT);
      res.resume();
      expect(await ended).not.toBe('complete');
      expect(said.some((line) => /read nothing for 0\.6 s/.test(line))).toBe(true);
      await vi.waitFor(() => {
        expect(cutter.openStreams).toBe(0);
        expect(cutEngine.stats()).toMatchObject({ active: 0, busy: 0, queued: 0, bufferedMs: 0 });
      }, WAIT);
      console.log(`[backpressure] idle limit 0.6 s: stream cut; log line: ${said.find((line) => /read nothing/.test(line))}`);
    } finally {
      await l.close();
      await cutEngine.close();
    }
  });
});
