// ttsSource + reconnect over real HTTP: a fixed-stream server (Range-aware, or
// not) behind the fault proxy. For any drop/reset/stall schedule the bytes,
// and the PCM decoded from them, are identical to the undisturbed run.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, readMpegHeader } from '../packages/codecs/src/index.js';
import { encodeMp3, sine } from '../packages/codecs/src/testing/fixtures.js';
import { VoxpipeError, collect, fromBytes, pipeline, reconnect, ttsSource, type Format, type PcmChunk, type RunEvent } from '../packages/core/src/index.js';
import { startFaultProxy, type FaultPlan, type FaultProxy } from './support/fault-proxy.js';
import { startFixedStreamServer, type FixedStreamServer } from './support/fixed-stream-server.js';

const API_KEY = 'test-key';

interface Body {
  name: 'pcm' | 'mp3';
  bytes: Uint8Array;
  format: Format;
  /** Positions that cut inside a unit: an odd byte of a 16-bit sample, or the inside of an MP3 frame. */
  inside: number[];
  reference: PcmChunk;
}

interface Rig {
  server: FixedStreamServer;
  proxy: FaultProxy;
}

const bodies: Record<'pcm' | 'mp3', Body> = {} as never;
const rigs: Record<string, Rig> = {};

function s16le(pcm: PcmChunk): Uint8Array {
  const samples = pcm.channels[0];
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, Math.round(samples[i] * 32767), true);
  return out;
}

function mp3Insides(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let offset = 0;
  for (let header = readMpegHeader(bytes, offset); header && header.frameLength > 0; header = readMpegHeader(bytes, offset)) {
    out.push(offset + 1, offset + Math.floor(header.frameLength / 2), offset + header.frameLength - 1);
    offset += header.frameLength;
  }
  return out;
}

async function decodeAll(bytes: Uint8Array, format: Format): Promise<PcmChunk> {
  return (await pipeline(fromBytes(bytes, { format }), decode(), collect()).done).value!.pcm!;
}

async function rig(body: Body, ranges: boolean): Promise<Rig> {
  const key = `${body.name}-${ranges}`;
  if (rigs[key]) return rigs[key];
  const headers: Record<string, string> = body.name === 'pcm' ? { 'x-sample-rate': '24000', 'x-channels': '1' } : {};
  const server = await startFixedStreamServer({
    body: body.bytes,
    contentType: body.name === 'pcm' ? 'audio/pcm' : 'audio/mpeg',
    headers,
    apiKey: API_KEY,
    ranges,
    chunkSize: 997,
  });
  return (rigs[key] = { server, proxy: await startFaultProxy(server.url) });
}

beforeAll(async () => {
  const pcm = sine({ frames: 12000, frequency: 330 });
  const pcmBytes = s16le(pcm);
  const pcmFormat: Format = { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1 };
  bodies.pcm = {
    name: 'pcm',
    bytes: pcmBytes,
    format: pcmFormat,
    inside: Array.from({ length: 40 }, (_, i) => 1 + 2 * Math.floor((i * pcmBytes.byteLength) / 80)),
    reference: await decodeAll(pcmBytes, pcmFormat),
  };
  const mp3Bytes = await encodeMp3(sine({ frames: 24000, frequency: 330 }));
  const mp3Format: Format = { kind: 'bytes', container: 'mp3' };
  bodies.mp3 = { name: 'mp3', bytes: mp3Bytes, format: mp3Format, inside: mp3Insides(mp3Bytes), reference: await decodeAll(mp3Bytes, mp3Format) };
});

afterAll(async () => {
  for (const { proxy, server } of Object.values(rigs)) {
    await proxy.close();
    await server.close();
  }
});

const fast = { initialMs: 1, maxMs: 5, factor: 2, jitter: 0.2 };
/** Stall detection far past any pause a busy machine puts between two reads on loopback: only planned stalls count. */
const STALL_MS = 1000;
const source = (baseUrl: string, format: 'pcm' | 'mp3', apiKey = API_KEY) =>
  ttsSource({ baseUrl, apiKey, text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite', format });

type Fault = { kind: 'dropAfter' | 'resetAfter' | 'stallAfter'; at: number; slice: boolean };

/**
 * Absolute cut positions → per-connection plans (each connection starts where the last one broke, or at 0 for servers
 * without Range). With Range, a cut at the body's end is met once: the resume after it is answered 416 (nothing left),
 * which ends the run, so no connection is left for a second cut there.
 */
function plansFor(faults: Fault[], ranges: boolean, end: number): FaultPlan[] {
  const sorted = [...faults].sort((a, b) => a.at - b.at);
  const met = ranges ? sorted.filter((fault, i) => fault.at < end || i === 0 || sorted[i - 1].at < end) : sorted;
  let previous = 0;
  return met.map((fault) => {
    const at = ranges ? fault.at - previous : fault.at;
    previous = fault.at;
    return { [fault.kind]: at, slice: fault.slice };
  });
}

/** The fault the proxy logs for each plan, in order: every planned cut must happen, on the connection it was planned for. */
const faultsOf = (plans: FaultPlan[]) => plans.map((plan) => (plan.dropAfter !== undefined ? 'drop' : plan.resetAfter !== undefined ? 'reset' : 'stall'));

function faultsArb(body: Body): fc.Arbitrary<Fault[]> {
  const n = body.bytes.byteLength;
  const fault = fc.record({
    kind: fc.constantFrom<Fault['kind']>('dropAfter', 'dropAfter', 'resetAfter', 'stallAfter'),
    at: fc.oneof(fc.integer({ min: 0, max: n }), fc.constantFrom(...body.inside), fc.constantFrom(0, n)),
    slice: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
  });
  return fc.array(fault, { maxLength: 4 }).filter((faults) => faults.filter((f) => f.kind === 'stallAfter').length <= 1);
}

describe('ttsSource + reconnect through the fault proxy', () => {
  for (const name of ['pcm', 'mp3'] as const) {
    it(`decodes ${name} sample-identical to the undisturbed run for any drop schedule`, async () => {
      const body = bodies[name];
      await fc.assert(
        fc.asyncProperty(faultsArb(body), fc.boolean(), async (faults, ranges) => {
          const { proxy } = await rig(body, ranges);
          const plans = plansFor(faults, ranges, body.bytes.byteLength);
          const before = proxy.log.length;
          proxy.plan(...plans);
          const run = pipeline(source(proxy.url, name), reconnect({ retries: 8, backoff: fast, stallMs: STALL_MS }), decode(), collect());
          const { value, metrics } = await run.done;
          expect(proxy.pending()).toBe(0);
          expect(proxy.log.slice(before, before + plans.length).map((e) => e.fault)).toEqual(faultsOf(plans));
          expect(metrics.bytes).toBe(body.bytes.byteLength);
          expect(value!.pcm!.sampleRate).toBe(body.reference.sampleRate);
          expect(value!.pcm!.channels).toEqual(body.reference.channels);
        }),
        { numRuns: 10, examples: [[Array.from({ length: 3 }, () => ({ kind: 'dropAfter', at: body.bytes.byteLength, slice: false }) as const), true]] },
      );
    });
  }

  it('delivers the exact bytes, none lost or repeated, for any schedule', async () => {
    const cases = fc.constantFrom<'pcm' | 'mp3'>('pcm', 'mp3').chain((name) => fc.tuple(fc.constant(name), faultsArb(bodies[name]), fc.boolean()));
    await fc.assert(
      fc.asyncProperty(cases, async ([name, faults, ranges]) => {
        const body = bodies[name];
        const { proxy } = await rig(body, ranges);
        const plans = plansFor(faults, ranges, body.bytes.byteLength);
        const before = proxy.log.length;
        proxy.plan(...plans);
        const run = pipeline(source(proxy.url, name), reconnect({ retries: 8, backoff: fast, stallMs: STALL_MS }), collect({ kind: 'bytes' }));
        const { value, metrics } = await run.done;
        expect(value!.bytes).toEqual(body.bytes);
        expect(proxy.pending()).toBe(0);
        expect(proxy.log.slice(before, before + plans.length).map((e) => e.fault)).toEqual(faultsOf(plans));
        // every re-open follows one retry; those after a connection broke are also reconnects
        const opens = run.events.history().filter((e) => e.type === 'request' && 'url' in e.detail).length;
        expect(metrics.retries).toBe(opens - 1);
        expect(metrics.reconnects).toBeLessThanOrEqual(metrics.retries);
        expect(metrics.reconnects).toBe(run.events.history().filter((e) => e.type === 'reconnect').length);
      }),
      { numRuns: 12 },
    );
  });

  it('sends Range: bytes=<delivered>- and skips the bytes already delivered when the server answers 200', async () => {
    const body = bodies.pcm;
    for (const ranges of [true, false]) {
      const { proxy, server } = await rig(body, ranges);
      const before = server.requests.length;
      proxy.plan({ dropAfter: 5001 }, { dropAfter: ranges ? 4000 : 12001 });
      const run = pipeline(source(proxy.url, 'pcm'), reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
      const { value } = await run.done;
      expect(value!.bytes).toEqual(body.bytes);
      expect(server.requests.slice(before).map((r) => r.range)).toEqual([undefined, 'bytes=5001-', ranges ? 'bytes=9001-' : 'bytes=12001-']);
      const warnings = run.events.history().filter((e) => e.type === 'warning').length;
      expect(warnings).toBe(ranges ? 0 : 2);
      expect(run.events.history().filter((e) => e.type === 'reconnect').map((e) => (e as RunEvent<'reconnect'>).detail.offset)).toEqual([5001, ranges ? 9001 : 12001]);
    }
  });

  it('detects a stall and resumes', async () => {
    const body = bodies.mp3;
    const { proxy } = await rig(body, true);
    proxy.plan({ stallAfter: body.inside[10] });
    const run = pipeline(source(proxy.url, 'mp3'), reconnect({ stallMs: STALL_MS, backoff: fast }), collect({ kind: 'bytes' }));
    const { value } = await run.done;
    expect(value!.bytes).toEqual(body.bytes);
    const event = run.events.history().find((e) => e.type === 'reconnect') as RunEvent<'reconnect'>;
    expect(event.detail).toMatchObject({ attempt: 2, offset: body.inside[10], reason: expect.stringMatching(/stalled/) });
  });

  it('retries 429 and 503 before the first byte, honouring Retry-After', async () => {
    const { proxy } = await rig(bodies.pcm, true);
    proxy.plan({ respond: { status: 429, headers: { 'retry-after': '0' } } }, { respond: { status: 503, headers: { 'retry-after': '0' } } }, { refuse: true });
    const run = pipeline(source(proxy.url, 'pcm'), reconnect({ backoff: { initialMs: 3, jitter: 0 } }), collect({ kind: 'bytes' }));
    const { value, metrics } = await run.done;
    expect(value!.bytes).toEqual(bodies.pcm.bytes);
    const retries = run.events.history().filter((e) => e.type === 'retry').map((e) => e.detail);
    expect(retries).toEqual([
      { attempt: 2, delayMs: 0, reason: expect.stringMatching(/429/) },
      { attempt: 3, delayMs: 0, reason: expect.stringMatching(/503/) },
      { attempt: 4, delayMs: 12, reason: expect.stringMatching(/reach/) },
    ]);
    expect(metrics.retries).toBe(3);
  });

  it('never retries 400 or 401, and carries the server message', async () => {
    const { proxy, server } = await rig(bodies.pcm, true);
    const before = server.requests.length;
    const unauthorised = pipeline(source(proxy.url, 'pcm', 'wrong-key'), reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
    const a = (await unauthorised.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(a).toBeInstanceOf(VoxpipeError);
    expect(a).toMatchObject({ code: 'auth', status: 401, retryable: false });
    expect(a.message).toMatch(/bad api key/);
    expect(server.requests.length - before).toBe(1);

    proxy.plan({ respond: { status: 400, body: JSON.stringify({ error: { code: 'bad-request', message: 'voice "Nobody" does not exist' } }) } });
    const bad = pipeline(source(proxy.url, 'pcm'), reconnect({ backoff: fast }), collect({ kind: 'bytes' }));
    const b = (await bad.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(b).toMatchObject({ code: 'bad-request', status: 400, message: 'voice "Nobody" does not exist' });
    expect(proxy.log.at(-1)?.fault).toBe('respond');
    expect(bad.events.history().some((e) => e.type === 'retry')).toBe(false);
  });

  it('gives up after the budget with a typed error', async () => {
    const { proxy } = await rig(bodies.mp3, true);
    proxy.plan({ dropAfter: 1000 }, ...Array.from({ length: 3 }, () => ({ resetAfter: 0 })));
    const run = pipeline(source(proxy.url, 'mp3'), reconnect({ retries: 3, backoff: fast }), collect({ kind: 'bytes' }));
    const error = (await run.done.catch((e: unknown) => e)) as VoxpipeError;
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/Gave up after 4 attempts/);
    expect(run.events.history().find((e) => e.type === 'give-up')?.detail).toMatchObject({ attempts: 4 });
    expect(proxy.pending()).toBe(0);
  });

  it('stops at once when aborted during a backoff wait', async () => {
    const { proxy } = await rig(bodies.pcm, true);
    proxy.plan({ respond: { status: 503, headers: { 'retry-after': '600' } } });
    const run = pipeline(source(proxy.url, 'pcm'), reconnect(), collect({ kind: 'bytes' }));
    const retry = await run.events.once('retry');
    expect(retry.detail.delayMs).toBe(600_000);
    run.abort();
    // a backoff that kept waiting would time the test out (600 s)
    expect((await run.done).outcome).toBe('aborted');
  });

  it('reports ordered, plausible telemetry', async () => {
    for (const name of ['pcm', 'mp3'] as const) {
      const body = bodies[name];
      const { proxy } = await rig(body, true);
      proxy.plan({ dropAfter: body.inside[3] });
      const run = pipeline(source(proxy.url, name), reconnect({ backoff: fast }), decode(), collect());
      const { metrics, value } = await run.done;
      const { requestMs, firstByteMs, firstAudioMs, endMs } = metrics;
      expect(requestMs).toBeGreaterThanOrEqual(0);
      expect(firstByteMs).toBeGreaterThanOrEqual(requestMs!);
      expect(firstAudioMs).toBeGreaterThanOrEqual(firstByteMs!);
      expect(endMs).toBeGreaterThanOrEqual(firstAudioMs!);
      expect(metrics.bytes).toBe(body.bytes.byteLength);
      expect(metrics.reconnects).toBe(1);
      const durationMs = (value!.pcm!.channels[0].length / value!.pcm!.sampleRate) * 1000;
      expect(metrics.audioMs).toBeCloseTo(durationMs, 6);
      expect(metrics.realTimeFactor).toBeCloseTo((endMs! - requestMs!) / durationMs, 6);
      const types = run.events.history().map((e) => e.type);
      for (const type of ['start', 'request', 'response', 'first-byte', 'first-audio', 'reconnect', 'end'] as const) expect(types).toContain(type);
      expect(types.indexOf('request')).toBeLessThan(types.indexOf('first-byte'));
      expect(types.indexOf('first-byte')).toBeLessThan(types.indexOf('first-audio'));
    }
  });
});
