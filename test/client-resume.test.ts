// Resume against any server: a proxy that cuts the first connection and
// changes the request's text on the reconnect must never get two streams
// spliced into one — whether the server then honours the Range (206 of the
// other stream), ignores it (200), or honours If-Range (200). A server that
// sends no validators cannot be resumed at all. With onMismatch 'restart'
// the bytes after the restart event are exactly the other stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoxpipeError, openSource, reconnect, ttsSource, type RunEvent } from '../packages/core/src/index.js';
import { seededBytes } from '../packages/core/src/testing/index.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startFixedStreamServer, type FixedStreamServer, type FixedStreamServerOptions } from './support/fixed-stream-server.js';

const TEXT_A = 'The first text.';
const TEXT_B = 'Another text, a longer one.';
const CUT = 30_011;

const A = seededBytes(40_000, 1);
const B = seededBytes(50_000, 2);

/** How the server behind the proxy answers a resume. */
const KINDS = {
  'honours Range but not If-Range (206 of the other stream)': { ifRange: false },
  'ignores Range (200 of the other stream)': { ranges: false },
  'honours If-Range (200 of the other stream)': {},
} satisfies Record<string, Partial<FixedStreamServerOptions>>;
type Kind = keyof typeof KINDS;
const EXPECTED_STATUS: Record<Kind, number> = {
  'honours Range but not If-Range (206 of the other stream)': 206,
  'ignores Range (200 of the other stream)': 200,
  'honours If-Range (200 of the other stream)': 200,
};

const rigs = new Map<string, { server: FixedStreamServer; proxy: FaultProxy }>();
beforeAll(async () => {
  const kinds: Record<string, Partial<FixedStreamServerOptions>> = { ...KINDS, 'sends no ETag': { etag: false }, 'sends no ETag and ignores Range': { etag: false, ranges: false } };
  for (const [name, options] of Object.entries(kinds)) {
    const server = await startFixedStreamServer({ body: A, bodyFor: (text) => (text === TEXT_A ? A : B), contentType: 'audio/pcm', chunkSize: 4096, ...options });
    rigs.set(name, { server, proxy: await startFaultProxy(server.url) });
  }
});
afterAll(async () => {
  for (const { server, proxy } of rigs.values()) {
    await proxy.close();
    await server.close();
  }
});

const fast = { initialMs: 1, maxMs: 10, factor: 2, jitter: 0 };

/** Reads the resumed stream to its end or its error: every byte delivered, the error, and the events. */
async function readResumed(baseUrl: string, options: Parameters<typeof reconnect>[0] = {}) {
  const events: RunEvent[] = [];
  const source = reconnect({ backoff: fast, ...options }).wrap(ttsSource({ baseUrl, text: TEXT_A, format: 'pcm' }));
  const reader = openSource(source, { onEvent: (event) => events.push(event) }).readable.getReader();
  const parts: Uint8Array[] = [];
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
  return { bytes: Buffer.concat(parts), error, events };
}

describe('resume through a proxy that changes the text on the reconnect', () => {
  for (const kind of Object.keys(KINDS) as Kind[]) {
    it(`fails with resume-mismatch and splices nothing when the server ${kind}`, async () => {
      const { proxy } = rigs.get(kind)!;
      const before = proxy.log.length;
      proxy.plan({ dropAfter: CUT }, { rewrite: { text: TEXT_B } });
      const { bytes, error } = await readResumed(proxy.url);
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error).toMatchObject({ code: 'resume-mismatch', retryable: false, stage: 'ttsSource' });
      expect((error as Error).message).toMatch(/another stream/);
      // exactly the first stream's bytes up to the cut: none of the other stream's
      expect(new Uint8Array(bytes)).toEqual(A.subarray(0, CUT));
      const log = proxy.log.slice(before);
      expect(log.map((e) => e.range)).toEqual([undefined, `bytes=${CUT}-`]);
      expect(log[1].ifRange).toBe(log[0].etag);
      expect(log[1].status).toBe(EXPECTED_STATUS[kind]);
      expect(log[1].etag).not.toBe(log[0].etag);
      expect(proxy.pending()).toBe(0);
    });

    it(`with onMismatch 'restart', gives exactly the other stream after the restart event when the server ${kind}`, async () => {
      const { proxy } = rigs.get(kind)!;
      const before = proxy.log.length;
      // A 200 of the other stream is taken as the restart; a 206 is dropped and the other stream asked for from
      // byte 0 (the proxy changes that request's text too).
      const ranged = EXPECTED_STATUS[kind] === 206;
      proxy.plan({ dropAfter: CUT }, { rewrite: { text: TEXT_B } }, ...(ranged ? [{ rewrite: { text: TEXT_B } }] : []));
      const { bytes, error, events } = await readResumed(proxy.url, { onMismatch: 'restart' });
      expect(error).toBeUndefined();
      const restart = events.find((e): e is RunEvent<'restart'> => e.type === 'restart');
      expect(restart?.detail.offset).toBe(CUT);
      expect(new Uint8Array(bytes.subarray(0, CUT))).toEqual(A.subarray(0, CUT));
      expect(new Uint8Array(bytes.subarray(CUT))).toEqual(B);
      const ranges = proxy.log.slice(before).map((e) => e.range);
      expect(ranges).toEqual(ranged ? [undefined, `bytes=${CUT}-`, undefined] : [undefined, `bytes=${CUT}-`]);
      expect(proxy.pending()).toBe(0);
    });
  }

  it('resumes byte-exact when the proxy leaves the request alone', async () => {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const { proxy } = rigs.get(kind)!;
      proxy.plan({ dropAfter: CUT }, { dropAfter: 1 });
      const { bytes, error, events } = await readResumed(proxy.url);
      expect(error).toBeUndefined();
      expect(new Uint8Array(bytes)).toEqual(A);
      expect(events.filter((e) => e.type === 'reconnect').length).toBe(2);
    }
  });
});

describe('resume against a server without validators', () => {
  for (const name of ['sends no ETag', 'sends no ETag and ignores Range']) {
    it(`fails with resume-mismatch before asking again when the server ${name}, even for the same text`, async () => {
      const { proxy } = rigs.get(name)!;
      const before = proxy.log.length;
      proxy.plan({ dropAfter: CUT });
      const { bytes, error } = await readResumed(proxy.url);
      expect(error).toMatchObject({ code: 'resume-mismatch', retryable: false });
      expect((error as Error).message).toMatch(/without a strong ETag/);
      expect(new Uint8Array(bytes)).toEqual(A.subarray(0, CUT));
      expect(proxy.log.length - before).toBe(1);
    });
  }

  it("with onMismatch 'restart', starts over from byte 0 and delivers the whole stream after the restart event", async () => {
    const { proxy } = rigs.get('sends no ETag')!;
    const before = proxy.log.length;
    proxy.plan({ dropAfter: CUT }, { rewrite: { text: TEXT_B } });
    const { bytes, error, events } = await readResumed(proxy.url, { onMismatch: 'restart' });
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'restart')?.detail).toMatchObject({ offset: CUT });
    expect(new Uint8Array(bytes.subarray(CUT))).toEqual(B);
    expect(proxy.log.slice(before).map((e) => e.range)).toEqual([undefined, undefined]);
  });
});
