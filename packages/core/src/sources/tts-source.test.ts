import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { pipeline } from '../pipeline.js';
import { collect } from '../sinks/collect.js';
import { ReadableStream } from '../streams.js';
import { bytePartitions, joinBytes } from '../testing/arbitraries.js';
import { testContext } from '../testing/harness.js';
import { errorFromStatus, parseRetryAfter } from './http-error.js';
import { parseContentRange, strongValidator, ttsSource, type FetchLike } from './tts-source.js';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch double that answers each call with the next response maker, recording the calls. */
function fakeFetch(...answers: Array<(call: Call) => Response | Promise<Response>>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      const call = { url, init };
      calls.push(call);
      const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
      return answer(call);
    },
  };
}

function streamOf(parts: readonly Uint8Array[], failAfter?: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (failAfter !== undefined && i === failAfter) return controller.error(new TypeError('terminated'));
        if (i >= parts.length) return controller.close();
        controller.enqueue(parts[i++]);
      },
    },
    { highWaterMark: 0 },
  );
}

const pcmBytes = Uint8Array.from({ length: 960 }, (_, i) => (i * 37) & 0xff);
const base = { baseUrl: 'http://tts.test/api', apiKey: 'k-123', text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };

describe('ttsSource', () => {
  it('POSTs the text with X-API-Key and declares the response format', async () => {
    const { fetch, calls } = fakeFetch(
      () => new Response(streamOf([pcmBytes]), { headers: { 'content-type': 'audio/pcm', 'x-sample-rate': '24000', 'x-channels': '1' } }),
    );
    const run = pipeline(ttsSource({ ...base, speed: 1.25, format: 'pcm', fetch }), collect({ kind: 'bytes' }));
    const { value, metrics } = await run.done;
    expect(value!.bytes).toEqual(pcmBytes);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('http://tts.test/api/v1/tts/stream');
    expect(calls[0].init.method).toBe('POST');
    const headers = new Headers(calls[0].init.headers);
    expect(headers.get('x-api-key')).toBe('k-123');
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('range')).toBeNull();
    expect(JSON.parse(calls[0].init.body as string)).toEqual({
      text: 'Hello there.',
      voice: 'Peter',
      language: 'en-US',
      model: 'aura-lite',
      speed: 1.25,
      format: 'pcm',
    });
    const format = { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1 };
    const events = run.events.history();
    expect(events.filter((e) => e.type === 'request').map((e) => e.detail)).toEqual([{ url: 'http://tts.test/api/v1/tts/stream', attempt: 1 }]);
    expect(events.find((e) => e.type === 'response')?.detail).toEqual({ status: 200, format });
    expect(metrics.bytes).toBe(pcmBytes.byteLength);
    expect(metrics.requestMs).toBeLessThanOrEqual(metrics.firstByteMs!);
    expect(metrics.firstByteMs).toBeLessThanOrEqual(metrics.endMs!);
  });

  it('gives the body unchanged however it is split', async () => {
    await fc.assert(
      fc.asyncProperty(bytePartitions(pcmBytes), async (parts) => {
        const { fetch } = fakeFetch(() => new Response(streamOf(parts), { headers: { 'content-type': 'audio/mpeg' } }));
        const run = pipeline(ttsSource({ ...base, fetch }), collect({ kind: 'bytes' }));
        const { value, metrics } = await run.done;
        expect(value!.bytes).toEqual(joinBytes(parts));
        expect(metrics.bytes).toBe(pcmBytes.byteLength);
      }),
      { numRuns: 30 },
    );
  });

  it.each([
    [401, 'auth', false],
    [403, 'auth', false],
    [400, 'bad-request', false],
    [413, 'bad-request', false],
    [422, 'bad-request', false],
    [429, 'rate-limit', true],
    [500, 'server', true],
    [503, 'server', true],
  ] as const)('turns HTTP %i into a typed %s error', async (status, code, retryable) => {
    const { fetch } = fakeFetch(() => Response.json({ error: { code: 'x', message: `server words ${status}` } }, { status, headers: { 'retry-after': '3' } }));
    const run = pipeline(ttsSource({ ...base, fetch }), collect({ kind: 'bytes' }));
    const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
    expect(error.stage).toBe('ttsSource');
    expect(error.message).toContain(`server words ${status}`);
    if (code === 'rate-limit' || code === 'server') expect(error.retryAfter).toBe(3);
    expect(run.events.history().find((e) => e.type === 'response')?.detail).toEqual({ status });
  });

  it('reports an unreachable server and a broken body as network errors', async () => {
    const refused = fakeFetch(() => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })));
    const a = (await pipeline(ttsSource({ ...base, fetch: refused.fetch }), collect({ kind: 'bytes' })).done.catch((e: unknown) => e)) as VoxpipeError;
    expect(a.code).toBe('network');
    expect(a.message).toMatch(/ECONNREFUSED/);
    const broken = fakeFetch(() => new Response(streamOf([pcmBytes, pcmBytes], 1)));
    const b = (await pipeline(ttsSource({ ...base, fetch: broken.fetch }), collect({ kind: 'bytes' })).done.catch((e: unknown) => e)) as VoxpipeError;
    expect(b.code).toBe('network');
    expect(b.retryable).toBe(true);
    expect(b.message).toMatch(/mid-stream/);
  });

  it('passes the run signal to fetch: aborting cancels the request and the run ends aborted', async () => {
    let seen: AbortSignal | undefined;
    const fetch: FetchLike = (_url, init) => {
      seen = init.signal ?? undefined;
      return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal!.reason), { once: true }));
    };
    const run = pipeline(ttsSource({ ...base, fetch }), collect({ kind: 'bytes' }));
    await run.events.once('request');
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
    expect(seen?.aborted).toBe(true);
  });

  it('re-opens at an offset with Range and If-Range, and reads Content-Range and the ETag', async () => {
    const tag = '"stream-1"';
    const { fetch, calls } = fakeFetch(
      () => new Response(streamOf([pcmBytes.slice(100)]), { status: 206, headers: { 'content-range': `bytes 100-959/960`, 'content-type': 'audio/mpeg', etag: tag } }),
      () => new Response(streamOf([pcmBytes]), { status: 200, headers: { 'content-length': '960', etag: 'W/"weak"' } }),
      () => new Response(null, { status: 416, headers: { 'content-range': 'bytes */960', etag: tag } }),
      () => new Response(null, { status: 416, headers: { 'content-range': 'bytes */2000' } }),
      () => new Response(streamOf([pcmBytes.slice(300)]), { status: 206, headers: { 'content-range': 'bytes 300-*/*' } }),
      () => new Response(streamOf([pcmBytes.slice(400, 500)]), { status: 206, headers: { 'content-range': 'bytes 400-499/*' } }),
      () => new Response(streamOf([pcmBytes.slice(400)]), { status: 206 }),
      () => new Response(streamOf([pcmBytes]), { status: 200, headers: { 'content-length': '10', 'content-encoding': 'gzip' } }),
    );
    const source = ttsSource({ ...base, fetch });
    const ctx = testContext('ttsSource');
    const partial = await source.resumable.open(ctx, { offset: 100, validator: tag, attempt: 2, signal: ctx.signal });
    expect(new Headers(calls[0].init.headers).get('range')).toBe('bytes=100-');
    expect(new Headers(calls[0].init.headers).get('if-range')).toBe(tag);
    expect(partial).toMatchObject({ status: 206, start: 100, end: 959, total: 960, validator: tag });
    expect(ctx.declared).toEqual({ kind: 'bytes', container: 'mp3' });
    // a weak ETag proves nothing: no validator
    const whole = await source.resumable.open(ctx, { offset: 100, attempt: 3, signal: ctx.signal });
    expect(new Headers(calls[1].init.headers).get('if-range')).toBeNull();
    expect(whole).toMatchObject({ status: 200, start: 0, total: 960, validator: undefined });
    const finished = await source.resumable.open(ctx, { offset: 960, attempt: 4, signal: ctx.signal });
    expect(finished).toMatchObject({ status: 416, start: 960, body: null, validator: tag });
    await expect(source.resumable.open(ctx, { offset: 960, attempt: 5, signal: ctx.signal })).rejects.toMatchObject({ code: 'bad-request', status: 416 });
    // a live stream's range (end unknown), a range with its end but no total
    expect(await source.resumable.open(ctx, { offset: 300, attempt: 6, signal: ctx.signal })).toMatchObject({ status: 206, start: 300, end: undefined, total: undefined });
    expect(await source.resumable.open(ctx, { offset: 400, attempt: 7, signal: ctx.signal })).toMatchObject({ status: 206, start: 400, end: 499, total: undefined });
    // a 206 that does not say where its bytes start cannot be placed
    await expect(source.resumable.open(ctx, { offset: 400, attempt: 8, signal: ctx.signal })).rejects.toMatchObject({ code: 'resume-mismatch', retryable: false });
    // an encoded body's Content-Length is not the stream's length
    expect(await source.resumable.open(ctx, { offset: 0, attempt: 9, signal: ctx.signal })).toMatchObject({ status: 200, total: undefined });
    expect(new Headers(calls[7].init.headers).get('range')).toBeNull();
    expect(ctx.events.filter((e) => e.type === 'request' && 'url' in e.detail).map((e) => e.detail)).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => ({ url: calls[0].url, attempt })));
  });

  it('reads Content-Range and strong ETags strictly', () => {
    expect(parseContentRange('bytes 5-9/10')).toEqual({ start: 5, end: 9, total: 10 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ start: 5, end: 9, total: undefined });
    expect(parseContentRange('bytes 5-*/*')).toEqual({ start: 5, end: undefined, total: undefined });
    expect(parseContentRange('bytes */10')).toEqual({ start: undefined, end: undefined, total: 10 });
    for (const bad of ['bytes 9-5/10', 'bytes 5-10/10', 'items 0-1/2', 'bytes 5-9', 'bytes=5-9/10', '', null]) expect(parseContentRange(bad)).toBeUndefined();
    expect(strongValidator(' "abc" ')).toBe('"abc"');
    for (const bad of ['W/"abc"', 'abc', '"a"b"', '"a b"', '', null, undefined]) expect(strongValidator(bad)).toBeUndefined();
  });

  it('checks its options, and its spec leaves out fetch', () => {
    expect(() => ttsSource({ ...base, text: '' })).toThrow(/ttsSource.*text/);
    expect(() => ttsSource({ ...base, baseUrl: 'not a url' })).toThrow(/ttsSource.*baseUrl/);
    expect(() => ttsSource({ ...base, speed: 0 })).toThrow(/ttsSource.*speed/);
    const { fetch } = fakeFetch(() => new Response(null));
    expect(ttsSource({ ...base, format: 'mp3', fetch }).spec).toEqual({ stage: 'ttsSource', options: { ...base, format: 'mp3' } });
    expect(ttsSource({ ...base, format: 'mp3' }).gives).toEqual({ kind: 'bytes', container: 'mp3' });
  });
});

describe('http errors', () => {
  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('carries the server message from any common body shape', () => {
    expect(errorFromStatus(400, '{"error":{"message":"a"}}', undefined).message).toBe('a');
    expect(errorFromStatus(400, '{"message":"b"}', undefined).message).toBe('b');
    expect(errorFromStatus(400, '{"error":"c"}', undefined).message).toBe('c');
    expect(errorFromStatus(400, 'plain d', undefined).message).toBe('plain d');
    expect(errorFromStatus(400, '', undefined).message).toMatch(/HTTP 400/);
  });
});

