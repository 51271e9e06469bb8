// ttsSource + reconnect against the real reference server (espeak engine)
// behind the fault proxy: for any drop/reset schedule — including cuts inside
// a PCM sample and inside an MP3 frame — the bytes and the decoded PCM are
// identical to the undisturbed run, for pcm (aura-lite, provider streaming)
// and mp3 (rapid-flash, pseudo-streaming). A proxy that changes the text on
// the reconnect gets no splice: the server's ETag and If-Range show it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, readMpegHeader } from '../packages/codecs/src/index.js';
import { VoxpipeError, collect, pipeline, reconnect, ttsSource, type PcmChunk, type RunEvent } from '../packages/core/src/index.js';
import { createServer, type ListeningServer, type VoxpipeServer } from '../packages/server/src/index.js';
import { startFaultProxy, type FaultPlan, type FaultProxy } from './support/fault-proxy.js';

const KEY = 'client-server-test-key';
const TEXT = 'Hello there. This stream survives dropped connections.';

type Name = 'pcm' | 'mp3';
const MODEL: Record<Name, string> = { pcm: 'aura-lite', mp3: 'rapid-flash' };

interface Reference {
  bytes: Uint8Array;
  pcm: PcmChunk;
  /** Cut points inside a unit: odd bytes of 16-bit samples, or the inside of MP3 frames. */
  inside: number[];
}

let server: VoxpipeServer;
let listening: ListeningServer;
let proxy: FaultProxy;
const reference = {} as Record<Name, Reference>;

const source = (name: Name, apiKey = KEY, voice = 'Peter', text = TEXT) =>
  ttsSource({ baseUrl: proxy.url, apiKey, text, voice, language: 'en-US', model: MODEL[name], format: name });
const OTHER_TEXT = 'A different sentence, spoken by the same voice.';
const fast = { initialMs: 1, maxMs: 10, factor: 2, jitter: 0.2 };

function insideUnits(name: Name, bytes: Uint8Array): number[] {
  if (name === 'pcm') return Array.from({ length: 60 }, (_, i) => 1 + 2 * Math.floor((i * bytes.byteLength) / 120));
  const out: number[] = [];
  let offset = 0;
  for (let header = readMpegHeader(bytes, 0); header && header.frameLength > 0; header = readMpegHeader(bytes, offset)) {
    out.push(offset + 1, offset + (header.frameLength >> 1), offset + header.frameLength - 1);
    offset += header.frameLength;
  }
  return out;
}

beforeAll(async () => {
  server = createServer({ keys: [KEY], logger: false, limits: { requestsPerSecond: 10_000, burst: 10_000, concurrentStreamsPerKey: 64 } });
  listening = await server.listen();
  proxy = await startFaultProxy(listening.url);
  for (const name of ['pcm', 'mp3'] as const) {
    const bytes = (await pipeline(source(name), collect({ kind: 'bytes' })).done).value!.bytes!;
    const pcm = (await pipeline(source(name), decode(), collect()).done).value!.pcm!;
    reference[name] = { bytes, pcm, inside: insideUnits(name, bytes) };
  }
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await listening?.close();
  await server?.close();
});

type Fault = { kind: 'dropAfter' | 'resetAfter'; at: number; slice: boolean };

function faultsArb(ref: Reference): fc.Arbitrary<Fault[]> {
  const n = ref.bytes.byteLength;
  return fc.array(
    fc.record({
      kind: fc.constantFrom<Fault['kind']>('dropAfter', 'dropAfter', 'resetAfter'),
      at: fc.oneof(fc.integer({ min: 0, max: n }), fc.constantFrom(...ref.inside), fc.constant(n)),
      slice: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
    }),
    { maxLength: 4 },
  );
}

/** Absolute cut points → per-connection plans (the server honours Range, so each connection starts where the last broke). */
function plansFor(faults: Fault[]): FaultPlan[] {
  let previous = 0;
  return [...faults]
    .sort((a, b) => a.at - b.at)
    .map((fault) => {
      const plan: FaultPlan = { [fault.kind]: fault.at - previous, slice: fault.slice };
      previous = fault.at;
      return plan;
    });
}

describe('ttsSource + reconnect against the reference server', () => {
  it('the server is deterministic: two undisturbed runs give the same bytes', async () => {
    for (const name of ['pcm', 'mp3'] as const) {
      const again = (await pipeline(source(name), collect({ kind: 'bytes' })).done).value!.bytes!;
      expect(again).toEqual(reference[name].bytes);
      expect(reference[name].bytes.byteLength).toBeGreaterThan(1000);
    }
  });

  for (const name of ['pcm', 'mp3'] as const) {
    it(`${name}: the decoded output is sample-identical to the undisturbed run for any drop schedule`, async () => {
      const ref = reference[name];
      await fc.assert(
        fc.asyncProperty(faultsArb(ref), async (drawn) => {
          // A drop after the last byte is met once: the reconnect then learns the stream has ended, and opens no more connections.
          const end = ref.bytes.byteLength;
          const faults = drawn.filter((f, i) => f.at < end || drawn.findIndex((g) => g.at >= end) === i);
          proxy.plan(...plansFor(faults));
          const run = pipeline(source(name), reconnect({ retries: 8, backoff: fast, stallMs: 5000 }), decode(), collect());
          const { value, metrics } = await run.done;
          expect(proxy.pending()).toBe(0);
          expect(metrics.bytes).toBe(ref.bytes.byteLength);
          expect(value!.pcm!.sampleRate).toBe(ref.pcm.sampleRate);
          expect(value!.pcm!.channels).toEqual(ref.pcm.channels);
        }),
        { numRuns: 6 },
      );
    });
  }

  it('delivers the exact bytes through drops, resets and a stall', async () => {
    const ref = reference.mp3;
    proxy.plan({ dropAfter: ref.inside[4] }, { stallAfter: 100 }, { resetAfter: 0 }, { dropAfter: 1, slice: true });
    const run = pipeline(source('mp3'), reconnect({ backoff: fast, stallMs: 500 }), collect({ kind: 'bytes' }));
    const { value, metrics } = await run.done;
    expect(value!.bytes).toEqual(ref.bytes);
    expect(metrics.reconnects).toBe(4);
    const reasons = run.events.history().filter((e): e is RunEvent<'reconnect'> => e.type === 'reconnect').map((e) => e.detail.reason);
    expect(reasons[1]).toMatch(/stalled/);
  });

  it('does not retry a 401 or a 400, and carries the server message', async () => {
    const before = proxy.log.length;
    const a = (await pipeline(source('pcm', 'wrong'), reconnect({ backoff: fast }), collect({ kind: 'bytes' })).done.catch((e: unknown) => e)) as VoxpipeError;
    expect(a).toBeInstanceOf(VoxpipeError);
    expect(a).toMatchObject({ code: 'auth', status: 401, retryable: false });
    const b = (await pipeline(source('pcm', KEY, 'Nobody'), reconnect({ backoff: fast }), collect({ kind: 'bytes' })).done.catch((e: unknown) => e)) as VoxpipeError;
    expect(b).toMatchObject({ code: 'bad-request', status: 400 });
    expect(b.message).toMatch(/Nobody/);
    expect(proxy.log.length - before).toBe(2);
  });

  it('gives up after the budget with a typed error', async () => {
    proxy.plan({ dropAfter: 500 }, { refuse: true }, { refuse: true });
    const run = pipeline(source('pcm'), reconnect({ retries: 2, backoff: fast }), collect({ kind: 'bytes' }));
    const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(error).toMatchObject({ code: 'network' });
    expect(run.events.history().find((e) => e.type === 'give-up')?.detail).toMatchObject({ attempts: 3 });
    expect(proxy.pending()).toBe(0);
  });

  it('reports ordered, plausible telemetry', async () => {
    for (const name of ['pcm', 'mp3'] as const) {
      proxy.plan({ dropAfter: reference[name].inside[7] });
      const run = pipeline(source(name), reconnect({ backoff: fast }), decode(), collect());
      const { metrics } = await run.done;
      expect(metrics.requestMs).toBeGreaterThanOrEqual(0);
      expect(metrics.firstByteMs).toBeGreaterThanOrEqual(metrics.requestMs!);
      expect(metrics.firstAudioMs).toBeGreaterThanOrEqual(metrics.firstByteMs!);
      expect(metrics.endMs).toBeGreaterThanOrEqual(metrics.firstAudioMs!);
      expect(metrics.bytes).toBe(reference[name].bytes.byteLength);
      expect(metrics.audioMs).toBeCloseTo((reference[name].pcm.channels[0].length / reference[name].pcm.sampleRate) * 1000, 6);
      expect(metrics.reconnects).toBe(1);
      expect(metrics.realTimeFactor).toBeGreaterThan(0);
    }
  });

  it('a proxy that changes the text on the reconnect gets resume-mismatch, never a splice: If-Range gives 200, without it the 206 has another ETag', async () => {
    const ref = reference.pcm;
    const cut = ref.bytes.byteLength >> 1;
    for (const dropHeaders of [[], ['if-range']]) {
      const before = proxy.log.length;
      proxy.plan({ dropAfter: cut }, { rewrite: { text: OTHER_TEXT }, dropHeaders });
      const run = pipeline(source('pcm'), reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
      const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error).toMatchObject({ code: 'resume-mismatch', retryable: false });
      expect(run.metrics.bytes).toBe(cut);
      const [first, second] = proxy.log.slice(before);
      expect(first.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(second).toMatchObject({ range: `bytes=${cut}-`, ifRange: first.etag, status: dropHeaders.length ? 206 : 200 });
      expect(second.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(second.etag).not.toBe(first.etag);
    }
  });

  it("with onMismatch 'restart', the bytes after the restart event are exactly the other text's stream", async () => {
    const other = (await pipeline(source('mp3', KEY, 'Peter', OTHER_TEXT), collect({ kind: 'bytes' })).done).value!.bytes!;
    const cut = reference.mp3.inside[5];
    for (const dropHeaders of [[], ['if-range']]) {
      proxy.plan({ dropAfter: cut }, { rewrite: { text: OTHER_TEXT }, dropHeaders }, ...(dropHeaders.length ? [{ rewrite: { text: OTHER_TEXT } }] : []));
      const run = pipeline(source('mp3'), reconnect({ backoff: fast, onMismatch: 'restart' }), collect({ kind: 'bytes' }));
      const { value } = await run.done;
      const restart = run.events.history().find((e): e is RunEvent<'restart'> => e.type === 'restart');
      expect(restart?.detail.offset).toBe(cut);
      expect(value!.bytes!.subarray(0, cut)).toEqual(reference.mp3.bytes.subarray(0, cut));
      expect(value!.bytes!.subarray(cut)).toEqual(other);
      expect(proxy.pending()).toBe(0);
    }
  });
});
