// The stream's strong ETag and If-Range, through the whole app (app.request) with tone engines.
import type { Engine } from '@voxpipe/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';
import { rangeHolds } from './stream-tag.js';
import { toneEngine } from './testing/tone-engine.js';

const KEY = 'tag-key-0123456789';
const limits = { burst: 1000, requestsPerSecond: 1000 };
const serverWith = (engine: Engine) => createServer({ engine, keys: [KEY], env: {}, logger: false, limits });
const one = serverWith(toneEngine());
const other = serverWith(toneEngine());
// The same tone, but an engine that does not say its build: not deterministic as far as the server knows.
const { build: _build, ...unbuilt } = toneEngine();
const noBuild = serverWith(unbuilt as Engine);
afterAll(async () => {
  for (const server of [one, other, noBuild]) await server.close();
});

const ok = { text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
const post = (server: typeof one, body: unknown, headers: Record<string, string> = {}) =>
  server.app.request('/v1/tts/stream', { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
async function tagOf(server: typeof one, body: unknown): Promise<string | null> {
  const res = await post(server, body);
  await res.arrayBuffer();
  return res.headers.get('etag');
}

describe('the stream ETag', () => {
  it('is strong and the same on 200 and 206, on every server instance, for the same request', async () => {
    const whole = await post(one, ok);
    const tag = whole.headers.get('etag');
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const bytes = await bytesOf(whole);
    const part = await post(one, ok, { Range: 'bytes=100-' });
    expect(part.status).toBe(206);
    expect(part.headers.get('etag')).toBe(tag);
    expect(await bytesOf(part)).toEqual(bytes.subarray(100));
    expect(await tagOf(other, ok)).toBe(tag);
    // the public voice name and its engine voice are the same voice
    expect(await tagOf(other, { ...ok, voice: 'peter' })).toBe(tag);
  });

  it('differs when anything that makes the bytes differs', async () => {
    const tag = await tagOf(one, ok);
    const variants = [
      { ...ok, text: 'Hello there!' },
      { ...ok, voice: 'Anna' },
      { ...ok, format: 'mp3' },
      { ...ok, format: 'wav' },
      { ...ok, speed: 1.25 },
      { ...ok, model: 'rapid-flash', format: 'pcm' },
      { ...ok, model: 'rapid-flash', format: 'pcm', pitch: 2 },
      { ...ok, language: 'de-DE', voice: 'Peter' },
    ];
    const tags = [tag];
    for (const variant of variants) tags.push(await tagOf(one, variant));
    expect(tags.every((t) => t !== null)).toBe(true);
    expect(new Set(tags).size).toBe(tags.length);
    // another build of the engine (here: another length per character) is another stream
    const slower = serverWith(toneEngine({ msPerChar: 12 }));
    expect(await tagOf(slower, ok)).not.toBe(tag);
    await slower.close();
  });

  it('is left out for an engine without a build', async () => {
    const res = await post(noBuild, ok);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeNull();
    await res.arrayBuffer();
  });
});

describe('If-Range', () => {
  it('serves the range only when it names the current stream; otherwise the whole stream, 200', async () => {
    const whole = await post(one, ok);
    const tag = whole.headers.get('etag')!;
    const bytes = await bytesOf(whole);
    const same = await post(one, ok, { Range: 'bytes=100-', 'If-Range': tag });
    expect(same.status).toBe(206);
    expect(same.headers.get('content-range')).toBe(`bytes 100-${bytes.byteLength - 1}/${bytes.byteLength}`);
    expect(await bytesOf(same)).toEqual(bytes.subarray(100));
    const otherText = await tagOf(one, { ...ok, text: 'Something else.' });
    for (const ifRange of [otherText!, `W/${tag}`, tag.slice(0, -2) + '"', 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const res = await post(one, ok, { Range: 'bytes=100-', 'If-Range': ifRange });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-range')).toBeNull();
      expect(res.headers.get('etag')).toBe(tag);
      expect(await bytesOf(res)).toEqual(bytes);
    }
    // a request for another text with the first stream's tag: the other stream, whole
    const moved = await post(one, { ...ok, text: 'Something else.' }, { Range: 'bytes=100-', 'If-Range': tag });
    expect(moved.status).toBe(200);
    expect(moved.headers.get('etag')).toBe(otherText);
    await moved.arrayBuffer();
  });

  it('drops even a range it could not serve, and is ignored without a Range', async () => {
    const tag = await tagOf(one, ok);
    const bad = await post(one, ok, { Range: 'bytes=-5', 'If-Range': '"another"' });
    expect(bad.status).toBe(200);
    await bad.arrayBuffer();
    const refused = await post(one, ok, { Range: 'bytes=-5', 'If-Range': tag! });
    expect(refused.status).toBe(416);
    await refused.arrayBuffer();
    const plain = await post(one, ok, { 'If-Range': '"another"' });
    expect(plain.status).toBe(200);
    await plain.arrayBuffer();
  });

  it('a range just past the end is 416 with the tag, so a client can prove it has the whole stream', async () => {
    const whole = await post(one, ok);
    const tag = whole.headers.get('etag')!;
    const n = (await bytesOf(whole)).byteLength;
    const res = await post(one, ok, { Range: `bytes=${n}-`, 'If-Range': tag });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${n}`);
    expect(res.headers.get('etag')).toBe(tag);
    await res.arrayBuffer();
  });

  it('on an engine without a build: a Range alone is served, with If-Range the whole stream is', async () => {
    const bytes = await bytesOf(await post(noBuild, ok));
    const ranged = await post(noBuild, ok, { Range: 'bytes=100-' });
    expect(ranged.status).toBe(206);
    expect(await bytesOf(ranged)).toEqual(bytes.subarray(100));
    const guarded = await post(noBuild, ok, { Range: 'bytes=100-', 'If-Range': '"anything"' });
    expect(guarded.status).toBe(200);
    expect(await bytesOf(guarded)).toEqual(bytes);
  });

  it('holds only for the exact strong tag', () => {
    expect(rangeHolds(undefined, undefined)).toBe(true);
    expect(rangeHolds(undefined, '"a"')).toBe(true);
    expect(rangeHolds('"a"', '"a"')).toBe(true);
    expect(rangeHolds(' "a" ', '"a"')).toBe(true);
    expect(rangeHolds('W/"a"', '"a"')).toBe(false);
    expect(rangeHolds('"a"', undefined)).toBe(false);
    expect(rangeHolds('Wed, 21 Oct 2015 07:28:00 GMT', '"a"')).toBe(false);
  });

  it('CORS lets a page send If-Range and read the ETag', async () => {
    const preflight = await one.app.request('/v1/tts/stream', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key, range, if-range, content-type' },
    });
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-range');
    const res = await post(one, ok, { Origin: 'https://app.example' });
    expect(res.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('etag');
    await res.arrayBuffer();
  });
});
