// Real streaming on the /v1/tts/stream server: a client that goes away stops
// synthesis, a client that stops reading holds the engine back, Range resumes
// the same deterministic stream, and closing the server ends open streams.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { splitSentences } from '../packages/core/src/index.js';
import { createServer } from '../packages/server/src/index.js';
import { SETTLE } from './support/budgets.js';
import { longText, startTestServer, ttsStream, type TestServer } from './support/tts-server.js';

const KEY = 'sk-streaming-test';
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ keys: [KEY], workers: 2, limits: { burst: 1000, requestsPerSecond: 1000 } });
});
afterAll(async () => {
  await t?.close();
});

const headers = { 'X-API-Key': KEY };

/** Opens a stream with node:http so the test controls reading (pause = a client that stops reading). */
function open(base: string, body: unknown): Promise<{ res: IncomingMessage; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/v1/tts/stream`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' } }, (res) => {
      resolve({ res, destroy: () => req.destroy() });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Reads `n` bytes or more from a response, then pauses it. */
function readSome(res: IncomingMessage, n: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer) => {
      got += chunk.byteLength;
      if (got >= n) {
        res.pause();
        res.off('data', onData);
        resolve(got);
      }
    };
    res.on('data', onData);
  });
}

describe('client goes away', () => {
  it('a disconnect mid-stream stops synthesis (aura-lite: the engine stream is cancelled)', async () => {
    const before = t.engine.stats();
    const { res, destroy } = await open(t.url, { text: longText(4000), voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' });
    expect(res.statusCode).toBe(200);
    await readSome(res, 20_000);
    destroy();
    await vi.waitFor(() => expect(t.engine.stats().active).toBe(before.active), SETTLE);
    const after = t.engine.stats();
    expect(after.cancelled).toBe(before.cancelled + 1);
    expect(after.completed).toBe(before.completed);
    expect(after.failed).toBe(before.failed);
    await vi.waitFor(() => expect(t.server.openStreams).toBe(0), SETTLE);
  });

  it('a disconnect mid-stream stops synthesis (rapid-flash: no further sentences are started)', async () => {
    const text = longText(4000);
    const sentences = splitSentences(text).length;
    const before = t.engine.stats();
    const { res, destroy } = await open(t.url, { text, voice: 'Peter', language: 'en-US', model: 'rapid-flash', format: 'pcm' });
    expect(res.statusCode).toBe(200);
    await readSome(res, 20_000);
    destroy();
    await vi.waitFor(() => expect(t.engine.stats().active).toBe(before.active), SETTLE);
    const settled = t.engine.stats().started;
    await new Promise((r) => setTimeout(r, 300));
    expect(t.engine.stats().started).toBe(settled);
    expect(settled - before.started).toBeLessThan(sentences / 2);
    await vi.waitFor(() => expect(t.server.openStreams).toBe(0), SETTLE);
  });

  it('fetch abort (the browser way) stops synthesis too', async () => {
    const before = t.engine.stats();
    const controller = new AbortController();
    const res = await fetch(`${t.url}/v1/tts/stream`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: longText(4000), voice: 'Anna', language: 'en-US', model: 'aura' }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await vi.waitFor(() => expect(t.engine.stats().active).toBe(before.active), SETTLE);
    expect(t.engine.stats().cancelled).toBe(before.cancelled + 1);
    expect(t.engine.stats().completed).toBe(before.completed);
  });
});

describe('backpressure', () => {
  // The engine holds about 1 s of audio, plus the rest of the text segment (≤ 200 characters) it was
  // synthesizing when the reader stopped — until the reader has read nothing for the engine's stallMs
  // (1 s), when the surplus past 1 s is dropped (and remade, identically, if the reader comes back:
  // see server-backpressure.test.ts).
  it('a client that stops reading holds synthesis back: the engine stops, with at most ~1 s plus one segment buffered', async () => {
    const before = t.engine.stats();
    // 5000 characters ≈ 6 minutes of audio ≈ 17 MB of PCM: far more than socket buffers hold.
    const { res, destroy } = await open(t.url, { text: longText(5000), voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' });
    await readSome(res, 10_000);
    // Let everything downstream fill up and the worker finish the segment it was on (however long a busy
    // machine takes over it), then look twice: nothing may move while the client sleeps.
    await vi.waitFor(() => {
      const now = t.engine.stats();
      expect(now.bufferedMs).toBeGreaterThan(800);
      expect(now.busy).toBe(0);
    }, SETTLE);
    const a = t.engine.stats();
    await new Promise((r) => setTimeout(r, 300));
    const b = t.engine.stats();
    expect(b.active).toBe(before.active + 1);
    expect(b.completed).toBe(before.completed);
    expect(b.bufferedMs).toBeLessThanOrEqual(1000 + 15_000);
    expect(b.bufferedMs).toBeLessThanOrEqual(a.bufferedMs); // nothing more is made while the client sleeps
    expect(b.busy).toBe(0); // no worker is synthesizing for a stream nobody reads
    // After the engine's stall limit (1 s without a read), the surplus past 1 s is dropped.
    await vi.waitFor(() => expect(t.engine.stats().evicted).toBeGreaterThan(before.evicted), SETTLE);
    expect(t.engine.stats().bufferedMs).toBeLessThanOrEqual(1000);
    destroy();
    await vi.waitFor(() => expect(t.engine.stats().active).toBe(before.active), SETTLE);
  });
});

describe('Range resume', () => {
  it.each([
    ['aura-lite', 'pcm'],
    ['aura-lite', 'mp3'],
    ['rapid-flash', 'mp3'],
    ['rapid-max', 'wav'],
  ])('%s %s: bytes=N- returns exactly the tail of the full stream', async (model, format) => {
    const body = { text: 'Resuming a stream gives the same bytes from the offset on. Twice, exactly.', voice: 'Emma', language: 'en-US', model, format };
    const full = await ttsStream(t.url, body, headers);
    expect(full.status).toBe(200);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    for (const n of [0, 1, 4097, Math.floor(full.bytes.byteLength * 0.6) | 1, full.bytes.byteLength - 1]) {
      const tail = await ttsStream(t.url, body, { ...headers, Range: `bytes=${n}-` });
      expect(tail.status).toBe(206);
      // Made to its end before it is sent: the range names exactly the bytes sent, and the whole length.
      expect(tail.headers.get('content-range')).toBe(`bytes ${n}-${full.bytes.byteLength - 1}/${full.bytes.byteLength}`);
      expect(tail.headers.get('content-length')).toBe(String(full.bytes.byteLength - n));
      expect(tail.headers.get('content-type')).toBe(full.headers.get('content-type'));
      expect(tail.bytes.byteLength).toBe(full.bytes.byteLength - n);
      expect(Buffer.from(tail.bytes).equals(Buffer.from(full.bytes.subarray(n)))).toBe(true);
    }
    const middle = await ttsStream(t.url, body, { ...headers, Range: 'bytes=100-1099' });
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe('bytes 100-1099/*');
    const last = full.bytes.byteLength - 1;
    const over = await ttsStream(t.url, body, { ...headers, Range: `bytes=${last - 9}-${last + 1000}` });
    expect(over.headers.get('content-range')).toBe(`bytes ${last - 9}-${last}/${full.bytes.byteLength}`);
    expect(Buffer.from(over.bytes).equals(Buffer.from(full.bytes.subarray(last - 9)))).toBe(true);
    expect(Buffer.from(middle.bytes).equals(Buffer.from(full.bytes.subarray(100, 1100)))).toBe(true);
  });

  it('a range at or past the end is 416 with the real length', async () => {
    const body = { text: 'Short.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
    const full = await ttsStream(t.url, body, headers);
    for (const n of [full.bytes.byteLength, full.bytes.byteLength + 5000]) {
      const res = await ttsStream(t.url, body, { ...headers, Range: `bytes=${n}-` });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${full.bytes.byteLength}`);
      expect(JSON.parse(new TextDecoder().decode(res.bytes)).error.code).toBe('range-not-satisfiable');
    }
  });

  it('a range far past anything the text could give is 416 at once, with no synthesis', async () => {
    const text = 'A long answer. '.repeat(300);
    const before = t.engine.stats().started;
    for (const n of [999_999_999_999, 200_000_000]) {
      const res = await ttsStream(t.url, { text, voice: 'Peter', language: 'en-US', model: 'aura-lite' }, { ...headers, Range: `bytes=${n}-` });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBeNull();
      expect(JSON.parse(new TextDecoder().decode(res.bytes)).error.code).toBe('range-not-satisfiable');
    }
    expect(t.engine.stats().started).toBe(before);
  });

  it.each(['bytes=abc', 'bytes=-500', 'bytes=10-5', 'bytes=0-1,5-9'])('malformed bytes range %j → 416', async (range) => {
    const res = await ttsStream(t.url, { text: 'Hi.', voice: 'Peter', language: 'en-US', model: 'aura-lite' }, { ...headers, Range: range });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBeNull();
    expect(JSON.parse(new TextDecoder().decode(res.bytes)).error.code).toBe('range-not-satisfiable');
  });
});

describe('closing', () => {
  it('close() ends open streams and frees the engine the server started', async () => {
    const server = createServer({ keys: [KEY], logger: false, env: {} });
    const listening = await server.listen();
    const engine = (await server.ready()) as typeof t.engine;
    const { res } = await open(listening.url, { text: longText(3000), voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' });
    await readSome(res, 1000);
    const ended = new Promise<string>((resolve) => {
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('aborted'));
      res.on('close', () => resolve('close'));
    });
    res.resume();
    await listening.close();
    expect(await ended).toMatch(/error|aborted|close/);
    expect(res.complete).toBe(false);
    expect(engine.stats().workers).toBe(0);
    expect(engine.stats().cancelled + engine.stats().failed).toBeGreaterThanOrEqual(1);
  });

  it('close() leaves an engine it was given running', async () => {
    const listening = await createServer({ engine: t.engine, keys: [KEY], logger: false, env: {} }).listen();
    await listening.close();
    expect(t.engine.stats().workers).toBeGreaterThan(0);
    expect((await ttsStream(t.url, { text: 'Still here.', voice: 'Peter', language: 'en-US', model: 'aura-lite' }, headers)).status).toBe(200);
  });
});
