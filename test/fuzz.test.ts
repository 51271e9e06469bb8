// Hostile input, generated: every decoder on corrupt and truncated bytes, the
// request validator on random bodies, headers and sizes, and pipeline.fromSpec
// on random specs. Never a hang, a crash or an unhandled rejection; always a
// typed error (or a warning event) — and on the server, never a 500.
// CI runs a few hundred cases per property; VOXPIPE_HEAVY=1 runs ≥ 10,000.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecStages, decode, mp3Encode, wavEncode } from '../packages/codecs/src/index.js';
import { liveMp3Decoders } from '../packages/codecs/src/mp3-decoder.js';
import { collect, coreStages, fromBytes, pipeline, ReadableStream, tone, VoxpipeError, type Collected, type Engine, type Registry } from '../packages/core/src/index.js';
import { ESPEAK_VOICES } from '../packages/engine-espeak/src/index.js';
import { createServer, MODELS, type ListeningServer, type VoxpipeServer } from '../packages/server/src/index.js';
import { limitFor, SETTLE } from './support/budgets.js';

const HEAVY = process.env.VOXPIPE_HEAVY === '1';
const runs = (ci: number, heavy: number) => ({ numRuns: HEAVY ? heavy : ci, endOnFailure: true });
/** Each case's own limit: a case still unsettled after this has hung (a case takes milliseconds). */
const HANG_MS = SETTLE.timeout;
/** A property's limit: its count of cases, each bounded by `waits` hang limits (never a speed requirement). */
const limitOf = (r: { numRuns: number }, waits = 1) => limitFor(r.numRuns * waits * HANG_MS);
const DECODE_RUNS = runs(300, 10_000);
const VALIDATOR_RUNS = runs(400, 10_000);
const HTTP_RUNS = runs(Number(process.env.FUZZ_HTTP_RUNS ?? 40), 1_000);
const SPEC_RUNS = runs(400, 10_000);

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Rejects if `promise` has not settled within `ms`: a hang is a failure, not a slow test. */
function noHang<T>(promise: Promise<T>, what: string, ms = HANG_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle in ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Corrupts a valid file: a few bytes overwritten, then maybe cut short. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      flips: fc.array(fc.record({ at: fc.nat(valid.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
      cut: fc.oneof(fc.constant(valid.length), fc.nat(valid.length)),
    })
    .map(({ flips, cut }) => {
      const copy = valid.slice();
      for (const { at, value } of flips) copy[at] = value;
      return copy.subarray(0, cut);
    });
}

describe('decoders on corrupt and truncated bytes', () => {
  let mp3: Uint8Array;
  let wav: Uint8Array;
  beforeAll(async () => {
    mp3 = (await pipeline(tone({ ms: 400, frequency: 300 }), mp3Encode({ bitrate: 48 }), collect({ kind: 'bytes' })).done).value!.bytes!;
    wav = (await pipeline(tone({ ms: 200, frequency: 300 }), wavEncode(), collect({ kind: 'bytes' })).done).value!.bytes!;
  });

  it('decode() completes or fails with a decode/format error, frees its MP3 decoders, whatever the bytes and their cutting', async () => {
    const outcomes = { completed: 0, decode: 0, format: 0, 'bad-request': 0 } as Record<string, number>;
    let warnings = 0;
    let nonFinite = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(undefined, 'mp3', 'wav', 'pcm', 'mulaw', 'alaw'),
        fc.oneof(fc.uint8Array({ maxLength: 2048 }), mutated(mp3), mutated(wav), fc.constant(new Uint8Array(0))),
        fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 5000 })),
        fc.option(fc.record({ encoding: fc.constantFrom('s16le', 'f32le'), sampleRate: fc.constantFrom(8000, 16000, 24000, 48000), channels: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: [] })),
        async (container, bytes, chunkSize, fallback) => {
          const format = container ? { kind: 'bytes' as const, container } : { kind: 'bytes' as const };
          const run = pipeline(fromBytes(bytes, { format, chunkSize }), decode(fallback ? { fallback } : {}), collect());
          run.events.on('warning', () => warnings++);
          try {
            const result = await noHang(run.done, `decode(${container}, ${bytes.length} bytes / ${chunkSize})`);
            expect(result.outcome).toBe('completed');
            const pcm = (result.value as Collected).pcm;
            // Noted, not failed: raw f32le (and float WAV) bytes can hold NaN / ±Infinity, which decode passes on as they are.
            if (pcm && pcm.channels.some((channel) => channel.some((x) => !Number.isFinite(x)))) nonFinite++;
            outcomes.completed++;
          } catch (error) {
            expect(error).toBeInstanceOf(VoxpipeError);
            expect(['decode', 'format']).toContain((error as VoxpipeError).code);
            outcomes[(error as VoxpipeError).code]++;
          }
          expect(liveMp3Decoders()).toBe(0);
        },
      ),
      DECODE_RUNS,
    );
    console.log(`[fuzz] decoders: ${JSON.stringify(outcomes)}, ${warnings} warning events, 0 hangs, 0 leaked MP3 decoders; ${nonFinite} completed runs carried non-finite samples (float input)`);
  }, limitOf(DECODE_RUNS));
});

/** A stand-in engine: a fixed 80 ms of tone per request, so the validator is what is exercised, quickly. */
const fakeEngine: Engine = {
  name: 'fake',
  sampleRate: 24000,
  voices: () => ESPEAK_VOICES.map(({ id, language, gender }) => ({ id, language, gender })),
  synthesize: (request) => {
    let sent = 0;
    return new ReadableStream({
      start(c) {
        if (typeof request.text !== 'string' || request.text.trim() === '') c.error(new VoxpipeError('bad-request', 'empty'));
      },
      pull(c) {
        if (sent++ >= 2) return c.close();
        c.enqueue({ sampleRate: 24000, channels: [new Float32Array(960).fill(0.1)] });
      },
    });
  },
  close: async () => {},
};

const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZabcxyz[]^_`{|}~=\t'.split('')), maxLength: 60 });
const anything = fc.oneof(fc.string({ maxLength: 40 }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }));
const requestBody = fc.oneof(
  fc
    .record(
      {
        text: fc.oneof(fc.constantFrom('Hello.', '   ', '', 'a'.repeat(5001)), fc.string({ maxLength: 200 }), anything),
        voice: fc.oneof(fc.constantFrom('Peter', 'anna', 'en-us+f3', 'Nobody', ''), anything),
        language: fc.oneof(fc.constantFrom('en-US', 'de-de', 'fr-FR', 'xx-YY'), anything),
        model: fc.oneof(fc.constantFrom(...MODELS.map((m) => m.id), 'aura-x1', 'AURA-LITE', 'gpt'), anything),
        speed: fc.oneof(fc.double({ min: 0, max: 3 }), anything),
        pitch: fc.oneof(fc.double({ min: -20, max: 20 }), anything),
        format: fc.oneof(fc.constantFrom('pcm', 'mp3', 'wav', 'ogg'), anything),
        extra: anything,
      },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => JSON.stringify({ text: 'x'.repeat(n) })),
  fc.constant('{"text":"' + '\\u0000'.repeat(100) + '"}'),
);
const requestHeaders = fc.record(
  {
    'X-API-Key': fc.oneof({ weight: 6, arbitrary: fc.constant('fuzz-key') }, { weight: 1, arbitrary: printable }),
    Accept: fc.oneof(fc.constantFrom('audio/mpeg', 'audio/wav;q=0.5, audio/pcm', '*/*', 'audio/mpeg;q=0'), printable),
    Range: fc.oneof(fc.constantFrom('bytes=0-', 'bytes=100-', 'bytes=5-9', 'bytes=999999999-', 'bytes=-5', 'bytes=0-1,4-5'), printable),
    'Content-Type': fc.oneof(fc.constant('application/json'), printable),
    Authorization: fc.oneof(fc.constant('Bearer vpt1.e30.AAAA'), printable),
    Origin: fc.oneof(fc.constant('https://app.example'), printable),
  },
  { requiredKeys: ['X-API-Key'] },
);
const ALLOWED = new Set([200, 206, 400, 401, 413, 416]);

async function checkResponse(res: Response, seen: Map<string, number>): Promise<void> {
  expect(ALLOWED.has(res.status), `status ${res.status}`).toBe(true);
  if (res.status >= 400) {
    const body = JSON.parse(await res.text()) as { error: { code: unknown; message: unknown } };
    expect(typeof body.error.code).toBe('string');
    expect(typeof body.error.message).toBe('string');
    const key = `${res.status} ${body.error.code}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  } else {
    await noHang(res.arrayBuffer(), 'audio body');
    seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
  }
}

describe('the request validator on random bodies, headers and sizes', () => {
  let server: VoxpipeServer;
  let listening: ListeningServer;
  const errors: string[] = [];
  beforeAll(async () => {
    server = createServer({
      engine: fakeEngine,
      keys: ['fuzz-key'],
      env: {},
      logger: { info() {}, warn() {}, error: (m) => errors.push(m) },
      // Random keys from one address must not end in failed-login throttling (429), which this property does not cover.
      limits: { burst: 1e6, requestsPerSecond: 1e6, concurrentStreamsPerKey: 1000, authFailures: 1e6 },
    });
    listening = await server.listen();
  });
  afterAll(async () => {
    await listening?.close();
  });

  it('in-process (app.fetch): always a 2xx with audio or a JSON 4xx with a code, never a 500', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(requestBody, requestHeaders, async (body, headers) => {
        let request: Request;
        try {
          request = new Request('http://in-process/v1/tts/stream', { method: 'POST', headers, body });
        } catch {
          return; // not a request an HTTP client could send
        }
        await checkResponse(await noHang(Promise.resolve(server.app.fetch(request)), 'app.fetch'), seen);
      }),
      VALIDATOR_RUNS,
    );
    expect(errors).toEqual([]);
    expect(server.openStreams).toBe(0);
    console.log(`[fuzz] validator (in-process): ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  }, limitOf(VALIDATOR_RUNS, 2));

  it('over real HTTP: the same, through the Node adapter', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(requestBody, requestHeaders, async (body, headers) => {
        let init: RequestInit;
        try {
          init = { method: 'POST', headers: new Headers(headers), body };
        } catch {
          return;
        }
        await checkResponse(await noHang(fetch(`${listening.url}/v1/tts/stream`, init), 'fetch'), seen);
      }),
      HTTP_RUNS,
    );
    expect(errors).toEqual([]);
    console.log(`[fuzz] validator (HTTP): ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  }, limitOf(HTTP_RUNS, 2));
});

describe('pipeline.fromSpec on random specs', () => {
  // Stages that reach the network (ttsSource) are left out; everything else in the core and codecs registries is in.
  const registry: Registry = Object.fromEntries(Object.entries({ ...coreStages, ...codecStages }).filter(([name]) => name !== 'ttsSource'));
  const names = Object.keys(registry);
  const optionKeys = ['ms', 'db', 'frequency', 'sampleRate', 'channels', 'rate', 'encoding', 'kind', 'bitrate', 'quality', 'fallback', 'retries', 'chunkMs', 'frameMs', 'gain', 'shape', 'inputs', 'rebuffer', 'bogus'];
  const value = fc.oneof(
    fc.integer({ min: -10, max: 50_000 }),
    fc.double({ min: -1e3, max: 1e3 }),
    fc.constantFrom(0, 1, 2, 8000, 24000, 48000, 'pcm', 's16le', 'f32le', 'bytes', 'mp3', true, false, null, NaN, Infinity, -0),
    fc.string({ maxLength: 10 }),
    fc.dictionary(fc.constantFrom('ms', 'encoding', 'sampleRate', 'channels'), fc.oneof(fc.integer({ min: 0, max: 48000 }), fc.string({ maxLength: 5 })), { maxKeys: 3 }),
  );
  const stage = fc.record(
    {
      stage: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString') }),
      options: fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 3, arbitrary: fc.dictionary(fc.constantFrom(...optionKeys), value, { maxKeys: 2 }) }, { weight: 1, arbitrary: anything }),
    },
    { requiredKeys: ['stage'] },
  );
  const spec = fc.oneof(
    fc.record({ stages: fc.array(stage, { maxLength: 6 }) }),
    fc.record({ stages: fc.array(stage, { maxLength: 4 }).map((s) => [{ stage: 'tone', options: { ms: 120 } }, ...s, { stage: 'collect' }]) }),
    fc.record({ stages: fc.array(stage, { maxLength: 4 }).map((s) => [{ stage: 'tone', options: { ms: 120 } }, ...s, { stage: 'collect', options: { kind: 'bytes' } }]) }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ maxLength: 80 }),
  );

  it('builds and runs, or throws / rejects a typed error; never hangs, never leaks an MP3 decoder', async () => {
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        let run;
        try {
          run = pipeline.fromSpec(s, registry, { signal: AbortSignal.timeout(5_000) });
        } catch (error) {
          expect(error).toBeInstanceOf(VoxpipeError);
          count(`throws ${(error as VoxpipeError).code}`);
          return;
        }
        try {
          const result = await noHang(run.done, `run of ${JSON.stringify(s).slice(0, 200)}`);
          count(result.outcome);
        } catch (error) {
          expect(error).toBeInstanceOf(VoxpipeError);
          count(`rejects ${(error as VoxpipeError).code}`);
        }
        expect(liveMp3Decoders()).toBe(0);
      }),
      SPEC_RUNS,
    );
    console.log(`[fuzz] fromSpec: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
  }, limitOf(SPEC_RUNS));
});
