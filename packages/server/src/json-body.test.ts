// The one JSON body reader, bounded in size and time: a JSON object, or a typed 4xx.
// (Called without a Node server, it reads the Request's stream; over real sockets: test/server-hostile.test.ts.)
import fc from 'fast-check';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from './app-env.js';
import { readJsonObject } from './json-body.js';
import { errorHandler } from './middleware/errors.js';

const LIMIT = 256;
/** Far beyond what an in-process read needs; only the never-ending body below waits for its own short limit. */
const READ_MS = 30_000;
const errors: string[] = [];
const warnings: string[] = [];
const app = new Hono<AppEnv>();
app.onError(errorHandler({ info() {}, warn: (m) => warnings.push(m), error: (m) => errors.push(m) }));
app.post('/echo', async (c) => c.json(await readJsonObject(c, { maxBytes: LIMIT, timeoutMs: READ_MS }, '{"a": 1}')));
app.post('/slow', async (c) => c.json(await readJsonObject(c, { maxBytes: LIMIT, timeoutMs: 200 })));

const encoder = new TextEncoder();

/** A body streamed in pieces, without a Content-Length. */
function streamed(pieces: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next >= pieces.length) return controller.close();
      const piece = pieces[next++];
      controller.enqueue(typeof piece === 'string' ? encoder.encode(piece) : piece);
    },
  });
}

const post = (body: BodyInit, headers: Record<string, string> = {}) => app.request('/echo', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

async function outcome(res: Response): Promise<{ status: number; code?: string; message?: string; body?: unknown }> {
  const json = (await res.json()) as { error?: { code: string; message: string } };
  return json.error ? { status: res.status, ...json.error } : { status: res.status, body: json };
}

/** What the reader should make of a body: the object, or the 4xx that says why not. */
function expected(body: string): { status: number; code?: string; body?: unknown } {
  if (encoder.encode(body).byteLength > LIMIT) return { status: 413, code: 'payload-too-large' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { status: 400, code: 'invalid-json' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { status: 400, code: 'invalid-body' };
  return { status: 200, body: parsed };
}

describe('readJsonObject', () => {
  it('gives the object a body holds', async () => {
    expect(await outcome(await post('{"text":"Hi","n":[1,2]}'))).toEqual({ status: 200, body: { text: 'Hi', n: [1, 2] } });
  });

  it('invalid JSON is 400 invalid-json, saying why', async () => {
    for (const text of ['{"text": "Hello', '', 'nope', '{"a":1}}']) {
      expect(await outcome(await post(text))).toMatchObject({ status: 400, code: 'invalid-json', message: expect.stringMatching(/^The body is not valid JSON: /) });
    }
  });

  it('JSON that is not an object is 400 invalid-body, with the example', async () => {
    for (const text of ['[1,2]', 'null', '42', '"text"', 'true']) {
      expect(await outcome(await post(text))).toEqual({ status: 400, code: 'invalid-body', message: 'The body must be a JSON object: {"a": 1}' });
    }
  });

  it('a body over the limit by Content-Length is 413 payload-too-large', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(LIMIT) });
    expect(await outcome(await post(big, { 'Content-Length': String(encoder.encode(big).byteLength) }))).toEqual({
      status: 413,
      code: 'payload-too-large',
      message: `The request body is larger than ${LIMIT} bytes`,
    });
  });

  it('a body streamed without Content-Length is counted as it comes: over the limit 413, under it parsed', async () => {
    const over = await post(streamed(['{"text":"', 'y'.repeat(100), 'y'.repeat(100), 'y'.repeat(100), '"}']));
    expect(await outcome(over)).toMatchObject({ status: 413, code: 'payload-too-large' });
    const under = await post(streamed(['{"te', 'xt":"', 'y'.repeat(50), '"}']));
    expect(await outcome(under)).toEqual({ status: 200, body: { text: 'y'.repeat(50) } });
  });

  it('a body that stops arriving is 408 request-timeout once its time is up; one that fails mid-way is one warn line, no stack', async () => {
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"text":'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const slow = await app.request('/slow', { method: 'POST', body: stalled, duplex: 'half' } as RequestInit);
    expect(await outcome(slow)).toEqual({ status: 408, code: 'request-timeout', message: 'The request body did not arrive within 0.2 s' });
    expect(cancelled).toBe(true);

    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('connection reset'));
      },
    });
    const gone = await post(failing);
    expect(gone.status).toBe(499);
    expect(warnings).toEqual(['POST /echo: the client closed the connection after 0 bytes of its body']);
    expect(errors).toEqual([]);
  });

  it('any body, whole or streamed in any pieces, parses or is a typed 4xx; never a 500', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 400, unit: 'grapheme' }),
      fc.json({ maxDepth: 3 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), async (body, cuts, whole) => {
        // Streamed bodies are cut at any byte, inside a character too.
        const bytes = encoder.encode(body);
        const ends = [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].sort((a, b) => a - b);
        const pieces = ends.map((end, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
        const res = await post(whole ? body : streamed(pieces));
        const got = await outcome(res);
        expect(got).toMatchObject(expected(body));
      }),
      { numRuns: 200 },
    );
    expect(errors).toEqual([]);
  });
});
