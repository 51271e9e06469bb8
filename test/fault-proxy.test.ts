import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startFixedStreamServer, type FixedStreamServer } from './support/fixed-stream-server.js';

const body = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
let server: FixedStreamServer;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startFixedStreamServer({ body, contentType: 'audio/pcm', headers: { 'x-sample-rate': '24000' }, chunkSize: 700 });
  proxy = await startFaultProxy(server.url);
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});

/** Reads a response body to the end or the first error: the bytes that arrived, the chunk count and the error. */
async function readAll(response: Response): Promise<{ bytes: Uint8Array; chunks: number; error?: unknown }> {
  const parts: Uint8Array[] = [];
  const reader = response.body!.getReader();
  let error: unknown;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (e) {
    error = e;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return { bytes, chunks: parts.length, error };
}

const post = (extra: Record<string, string> = {}) =>
  fetch(`${proxy.url}/v1/tts/stream`, { method: 'POST', headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify({ text: 'hi' }) });

describe('fault proxy', () => {
  it('passes a request through untouched when no plan is queued', async () => {
    const response = await post();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-sample-rate')).toBe('24000');
    const { bytes, error } = await readAll(response);
    expect(error).toBeUndefined();
    expect(bytes).toEqual(body);
  });

  it.each([0, 1, 699, 700, 2500, 4999, 5000])('drops the connection after exactly %i body bytes', async (n) => {
    proxy.plan({ dropAfter: n });
    const { bytes, error } = await readAll(await post());
    expect(error).toBeDefined(); // a chunked body that ends without its last chunk is an error, even at byte 5000
    expect(bytes).toEqual(body.subarray(0, n));
    expect(proxy.log.at(-1)).toMatchObject({ fault: 'drop', bodyBytes: n });
  });

  it('resets the connection after N body bytes', async () => {
    proxy.plan({ resetAfter: 1234 });
    const { bytes, error } = await readAll(await post());
    expect(error).toBeDefined();
    expect(bytes.byteLength).toBeLessThanOrEqual(1234); // an RST may discard bytes in flight
    expect(bytes).toEqual(body.subarray(0, bytes.byteLength));
    expect(proxy.log.at(-1)).toMatchObject({ fault: 'reset', bodyBytes: 1234 });
  });

  it('stalls and then carries on', async () => {
    proxy.plan({ stallAfter: 100, stallMs: 30 });
    const { bytes, error } = await readAll(await post());
    expect(error).toBeUndefined();
    expect(bytes).toEqual(body);
    expect(proxy.log.at(-1)).toMatchObject({ fault: 'stall', bodyBytes: 5000 });
  });

  it('slices the body into 1-byte writes', async () => {
    proxy.plan({ slice: true });
    const { bytes, chunks, error } = await readAll(await post());
    expect(error).toBeUndefined();
    expect(bytes).toEqual(body);
    expect(proxy.log.at(-1)).toMatchObject({ writes: 5000, bodyBytes: 5000 });
    expect(chunks).toBeGreaterThan(1);
  });

  it('refuses, answers for the server, and takes plans in order', async () => {
    proxy.plan({ refuse: true }, { respond: { status: 503, headers: { 'retry-after': '2' } } }, { dropAfter: 10 });
    await expect(post()).rejects.toThrow();
    const unavailable = await post();
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('2');
    await unavailable.text();
    expect((await readAll(await post())).bytes.byteLength).toBe(10);
    expect(proxy.pending()).toBe(0);
    expect(proxy.log.slice(-3).map((e) => e.fault)).toEqual(['refuse', 'respond', 'drop']);
  });

  it('changes the request on its way: fields of the JSON body replaced, headers removed', async () => {
    const before = server.requests.length;
    proxy.plan({ rewrite: { text: 'changed', voice: 'Anna' }, dropHeaders: ['if-range'] });
    const response = await post({ range: 'bytes=10-', 'if-range': '"x"' });
    await readAll(response);
    expect(server.requests.slice(before)).toMatchObject([{ json: { text: 'changed', voice: 'Anna' }, range: 'bytes=10-', ifRange: undefined }]);
    expect(proxy.log.at(-1)).toMatchObject({ range: 'bytes=10-', ifRange: '"x"', status: 206 });
  });

  it('forwards Range to the server', async () => {
    const response = await post({ range: 'bytes=4000-' });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 4000-4999/5000');
    expect((await readAll(response)).bytes).toEqual(body.subarray(4000));
    expect(proxy.log.at(-1)?.range).toBe('bytes=4000-');
  });
});
