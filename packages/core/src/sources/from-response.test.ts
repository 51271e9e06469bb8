import fc from 'fast-check';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { pipeline } from '../index.js';
import { collect } from '../sinks/collect.js';
import { bytePartitions, settleTurns, testContext } from '../testing/index.js';
import { fromResponse } from './from-response.js';

const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 1) & 255);

/** A Response whose body gives exactly these chunks, counting how often it was pulled and whether it was cancelled. */
function chunkedResponse(parts: Uint8Array[], init?: ResponseInit) {
  const seen = { pulls: 0, cancelled: false };
  let i = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        seen.pulls++;
        if (i < parts.length) c.enqueue(parts[i++]);
        else c.close();
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { response: new Response(body, init), seen };
}

/** Runs fromResponse into collect; resolves with the result or the error. */
function play(response: Response | Promise<Response>, options?: Parameters<typeof fromResponse>[1], signal?: AbortSignal) {
  const run = pipeline({ signal }, fromResponse(response, options), collect({ kind: 'bytes' }));
  return { run, result: run.done.then((r) => r, (e: unknown) => e as VoxpipeError) };
}

describe('fromResponse', () => {
  it('gives the body and declares its format from Content-Type', async () => {
    const body = bytesOf(5000);
    const { run, result } = play(new Response(body, { headers: { 'content-type': 'audio/L16; rate=24000; channels=1' } }));
    const r = await result;
    if (r instanceof Error) throw r;
    expect(r.value!.bytes).toEqual(body);
    expect(r.metrics.bytes).toBe(5000);
    expect(r.metrics.firstByteMs).toBeDefined();
    const response = run.events.history().find((e) => e.type === 'response')!;
    expect(response.detail).toEqual({ status: 200, format: { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1 } });
  });

  it('keeps a given format where the headers are silent, and warns when they disagree', async () => {
    const ctx = testContext('fromResponse');
    const stream = fromResponse(new Response(bytesOf(4)), { format: { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 16000 } }).open(ctx);
    await stream.getReader().read();
    expect(ctx.declared).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 16000 });

    const told = testContext('fromResponse');
    const mp3 = fromResponse(new Response(bytesOf(4), { headers: { 'content-type': 'audio/wav' } }), { format: { kind: 'bytes', container: 'mp3' } });
    expect(mp3.gives).toEqual({ kind: 'bytes', container: 'mp3' });
    await mp3.open(told).getReader().read();
    expect(told.declared).toEqual({ kind: 'bytes', container: 'wav' });
    expect(told.events.find((e) => e.type === 'warning')!.detail).toMatchObject({ code: 'format-mismatch' });
  });

  it('property: gives any chunking of the body back whole and in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }).chain((b) => fc.tuple(fc.constant(b), bytePartitions(b))), async ([bytes, parts]) => {
        const { response } = chunkedResponse(parts, { headers: { 'content-type': 'audio/mpeg' } });
        const r = await play(Promise.resolve(response)).result;
        if (r instanceof Error) throw r;
        expect(r.value!.bytes).toEqual(bytes);
        expect(r.metrics.bytes).toBe(bytes.byteLength);
      }),
      { numRuns: 50 },
    );
  });

  it('reads the body only as fast as it is read', async () => {
    const { response, seen } = chunkedResponse(Array.from({ length: 50 }, () => bytesOf(100)));
    const ctx = testContext('fromResponse');
    const reader = fromResponse(response).open(ctx).getReader();
    await settleTurns(5);
    expect(seen.pulls).toBeLessThanOrEqual(1);
    for (let i = 0; i < 5; i++) await reader.read();
    await settleTurns(5);
    expect(seen.pulls).toBeLessThanOrEqual(7);
    await reader.cancel();
    expect(seen.cancelled).toBe(true);
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('turns error statuses into typed errors with the server’s message', async () => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
    const cases: Array<[Response, Partial<VoxpipeError>]> = [
      [json(401, { error: { code: 'invalid_key', message: 'Invalid API key' } }), { code: 'auth', retryable: false, status: 401 }],
      [json(403, { error: { code: 'forbidden', message: 'No access to rapid-max' } }), { code: 'auth', status: 403 }],
      [json(429, { error: { code: 'rate_limited', message: 'Slow down' } }, { 'retry-after': '7' }), { code: 'rate-limit', retryable: true, retryAfter: 7 }],
      [json(400, { error: { code: 'text_too_long', message: 'Text is too long' } }), { code: 'bad-request', retryable: false, status: 400 }],
      [new Response('too big', { status: 413 }), { code: 'bad-request', status: 413 }],
      [new Response(null, { status: 503 }), { code: 'server', retryable: true, status: 503 }],
      [json(500, { error: { code: 'engine', message: 'Engine crashed' } }), { code: 'server', retryable: true }],
    ];
    for (const [response, expected] of cases) {
      const error = await play(response).result;
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error).toMatchObject({ ...expected, stage: 'fromResponse' });
    }
    expect((await play(json(400, { error: { code: 'x', message: 'Text is too long' } })).result as VoxpipeError).message).toMatch('Text is too long');
    expect((await play(json(401, { error: { code: 'x', message: 'Invalid API key' } })).result as VoxpipeError).message).toMatch('Invalid API key');
  });

  it('gives a failed request as a retryable network error, and runs only once', async () => {
    const failed = await play(Promise.reject(new TypeError('fetch failed'))).result;
    expect(failed).toMatchObject({ code: 'network', retryable: true });

    const source = fromResponse(new Response(bytesOf(10)));
    expect((await pipeline(source, collect({ kind: 'bytes' })).done).value!.bytes!.byteLength).toBe(10);
    await expect(pipeline(source, collect({ kind: 'bytes' })).done).rejects.toMatchObject({ code: 'bad-request', message: /once/ });
  });

  it('gives an empty body as no chunks', async () => {
    const r = await play(new Response(null, { status: 200 })).result;
    if (r instanceof Error) throw r;
    expect(r.value!.bytes!.byteLength).toBe(0);
  });

  it('cancels a response that arrives after the run was aborted', async () => {
    let deliver!: (r: Response) => void;
    const later = new Promise<Response>((resolve) => (deliver = resolve));
    const controller = new AbortController();
    const { result } = play(later, {}, controller.signal);
    await settleTurns(2);
    controller.abort();
    expect(await result).toMatchObject({ outcome: 'aborted' });
    const { response, seen } = chunkedResponse([bytesOf(3)]);
    deliver(response);
    await settleTurns(3);
    expect(seen.cancelled).toBe(true);
  });

  it('rejects options that are not a bytes format', () => {
    expect(() => fromResponse(new Response(null), { format: { kind: 'pcm' } })).toThrow(/fromResponse.*bytes/);
  });

  describe('over real HTTP', () => {
    let server: Server;
    let base = '';
    const closed: Record<string, Promise<void>> = {};
    let markClosed: Record<string, () => void> = {};
    const expectClose = (name: string) => {
      closed[name] = new Promise<void>((resolve) => (markClosed = { ...markClosed, [name]: resolve }));
    };

    beforeAll(async () => {
      server = createServer((req, res: ServerResponse) => {
        const name = req.url!.slice(1);
        res.on('close', () => markClosed[name]?.());
        if (name === 'broken') {
          res.writeHead(200, { 'content-type': 'audio/mpeg' });
          res.write(bytesOf(1000));
          setTimeout(() => res.destroy(), 20);
        } else if (name === 'endless') {
          res.writeHead(200, { 'content-type': 'audio/pcm', 'x-sample-rate': '24000' });
          const timer = setInterval(() => res.write(bytesOf(480)), 5);
          res.on('close', () => clearInterval(timer));
        } else {
          res.writeHead(200, { 'content-type': 'audio/wav' });
          res.end(bytesOf(10000));
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('streams a whole body', async () => {
      const r = await play(fetch(`${base}/whole`)).result;
      if (r instanceof Error) throw r;
      expect(r.value!.bytes).toEqual(bytesOf(10000));
      expect(r.value!.format).toEqual({ kind: 'bytes' });
    });

    it('gives a body that breaks off as a retryable network error', async () => {
      const error = await play(fetch(`${base}/broken`)).result;
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error).toMatchObject({ code: 'network', retryable: true, stage: 'fromResponse' });
    });

    it('cancels the body on abort, closing the connection', async () => {
      expectClose('endless');
      const controller = new AbortController();
      const { run, result } = play(fetch(`${base}/endless`), {}, controller.signal);
      await run.events.once('first-byte');
      expect(run.metrics.bytes).toBeGreaterThan(0);
      controller.abort();
      expect(await result).toMatchObject({ outcome: 'aborted' });
      await closed.endless; // the server sees the connection go: would time out if the body were left open
    });
  });
});
