// ttsSource({ timestamps: true }) → reconnect → decode against a real HTTP
// server speaking the with-timestamps wire format (test/support/timestamps-server.ts),
// through the fault proxy: the words reach the decoded PCM as marks on their
// first samples (round(start × rate)), for PCM and MP3, through any drop;
// bad lines are typed errors.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mp3Encode } from '../packages/codecs/src/index.js';
import { decode } from '../packages/codecs/src/index.js';
import { collect, fromIterable, pcmEncode, pipeline, reconnect, ttsSource, VoxpipeError, type PcmChunk, type RunEvent } from '../packages/core/src/index.js';
import { joinBytes, landedMarks } from '../packages/core/src/testing/index.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startTimestampsServer, type ServedWord, type TimestampsServer } from './support/timestamps-server.js';

const RATE = 24000;
const TEXT = 'Words travel with their samples — naïve café, résumé.';

/** Speech stand-in: each word of TEXT a tone burst after 60 ms of silence; its start is the burst's first sample. */
function speech(): { pcm: PcmChunk; words: ServedWord[] } {
  const words: ServedWord[] = [];
  const parts: number[] = [];
  for (const match of TEXT.matchAll(/\S+/g)) {
    for (let i = 0; i < 0.06 * RATE; i++) parts.push(0);
    const start = parts.length;
    const frames = Math.round(match[0].length * 0.05 * RATE);
    for (let i = 0; i < frames; i++) parts.push(0.4 * Math.sin((2 * Math.PI * (300 + 20 * words.length) * i) / RATE));
    words.push({ text: match[0], start: start / RATE, end: (start + frames) / RATE, charStart: match.index, charEnd: match.index + match[0].length });
  }
  return { pcm: { sampleRate: RATE, channels: [Float32Array.from(parts)] }, words };
}

async function bytesOf(stage: ReturnType<typeof pcmEncode> | ReturnType<typeof mp3Encode>, pcm: PcmChunk): Promise<Uint8Array> {
  const { value } = await pipeline(fromIterable([pcm], { format: { kind: 'pcm', sampleRate: RATE, channels: 1 } }), stage, collect({ kind: 'bytes' })).done;
  return value!.bytes!;
}

interface Rig {
  server: TimestampsServer;
  proxy: FaultProxy;
  /** The whole response body's length (the lines, not the audio). */
  bodyBytes: number;
}

const { pcm, words } = speech();
const rigs: Record<'pcm' | 'mp3', Rig> = {} as Record<'pcm' | 'mp3', Rig>;

beforeAll(async () => {
  for (const kind of ['pcm', 'mp3'] as const) {
    const audio = await bytesOf(kind === 'pcm' ? pcmEncode() : mp3Encode({ bitrate: 64 }), pcm);
    const server = await startTimestampsServer({
      audio,
      audioType: kind === 'pcm' ? 'audio/pcm' : 'audio/mpeg',
      bytesPerSecond: kind === 'pcm' ? 2 * RATE : 8000,
      words,
    });
    const body = await (await fetch(`${server.url}/v1/tts/stream/with-timestamps`, { method: 'POST', body: '{}' })).arrayBuffer();
    rigs[kind] = { server, proxy: await startFaultProxy(server.url), bodyBytes: body.byteLength };
  }
});

afterAll(async () => {
  for (const rig of Object.values(rigs)) {
    await rig.proxy.close();
    await rig.server.close();
  }
});

async function speak(rig: Rig, events: RunEvent[] = []) {
  const run = pipeline(
    ttsSource({ baseUrl: rig.proxy.url, text: TEXT, timestamps: true }),
    reconnect({ retries: 3, backoff: { initialMs: 1 } }),
    decode(),
    collect(),
  );
  run.events.on('*' as never, (event: RunEvent) => events.push(event));
  const { value } = await run.done;
  return value!.pcm!;
}

describe('ttsSource({ timestamps: true }) → reconnect → decode', () => {
  it('puts each word on the sample where its burst starts (PCM), with its text and offsets into the request', async () => {
    const out = await speak(rigs.pcm);
    expect(out.channels[0]).toEqual(Float32Array.from(pcm.channels[0], (x) => (Math.max(-32768, Math.min(32767, Math.round(x * 32768))) + 0) / 32768));
    const landed = landedMarks([out]);
    expect(landed.map((m) => m.at)).toEqual(words.map((w) => Math.round(w.start * RATE)));
    for (const [i, mark] of landed.entries()) {
      expect(TEXT.slice(mark.charStart, mark.charEnd)).toBe(words[i].text);
      expect(mark.text).toBe(words[i].text);
      expect(mark.duration).toBeCloseTo(words[i].end - words[i].start, 9);
      expect(mark.written).toBe(TEXT);
      // the burst begins exactly on the mark: silence before, sound on it
      expect(out.channels[0][mark.at - 1]).toBe(0);
      expect(out.channels[0][mark.at + 1]).not.toBe(0);
    }
  });

  it('puts each word on frame round(start × rate) of decoded MP3', async () => {
    const out = await speak(rigs.mp3);
    expect(landedMarks([out]).map((m) => [m.text, m.at])).toEqual(words.map((w) => [w.text, Math.round(w.start * RATE)]));
  });

  for (const kind of ['pcm', 'mp3'] as const) {
    it(`resumes exactly through any drop of the ${kind} stream: the same audio and the same marks, each word once`, async () => {
      const rig = rigs[kind];
      const clean = await speak(rig);
      const want = landedMarks([clean]);
      await fc.assert(
        // The first drop anywhere in the body, then drops early in the resumed bodies (each holds at least its repeated words line).
        fc.asyncProperty(fc.integer({ min: 1, max: rig.bodyBytes - 1 }), fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 2 }), async (first, more) => {
          rig.proxy.plan(...[first, ...more].map((dropAfter) => ({ dropAfter })));
          const events: RunEvent[] = [];
          const out = await speak(rig, events);
          expect(rig.proxy.pending()).toBe(0);
          expect(events.filter((e) => e.type === 'reconnect')).toHaveLength(1 + more.length);
          expect(out.channels[0]).toEqual(clean.channels[0]);
          expect(landedMarks([out])).toEqual(want);
          expect(events.filter((e) => e.type === 'warning')).toEqual([]);
        }),
        { numRuns: 6 },
      );
    });
  }
});

describe('a with-timestamps response that breaks the format', () => {
  async function failure(lines: string[], options: { contentType?: string; noFinalNewline?: boolean; retries?: number } = {}): Promise<VoxpipeError> {
    const server = await startTimestampsServer({ audio: new Uint8Array(0), audioType: 'audio/pcm', bytesPerSecond: 48000, words: [], raw: { lines, ...options } });
    try {
      const run = pipeline(ttsSource({ baseUrl: server.url, text: TEXT, timestamps: true }), reconnect({ retries: options.retries ?? 0, backoff: { initialMs: 1 } }), decode(), collect());
      const error = await run.done.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(VoxpipeError);
      return error as VoxpipeError;
    } finally {
      await server.close();
    }
  }
  const audio = JSON.stringify({ audio: Buffer.from(new Uint8Array(480)).toString('base64') });

  it.each([
    ['not JSON', '{"audio":'],
    ['neither audio nor words', '{"text":"hi"}'],
    ['audio that is not base64', '{"audio":"@@@"}'],
    ['words of the wrong shape', '{"words":[{"text":"a","start":"0"}]}'],
    ['a word that ends before it starts', '{"words":[{"text":"a","start":1,"end":0.5,"charStart":0,"charEnd":1}]}'],
    ['a word past the end of the text', `{"words":[{"text":"a","start":0,"end":0.5,"charStart":0,"charEnd":${TEXT.length + 1}}]}`],
  ])('a line with %s is a decode error naming the line', async (_, line) => {
    const error = await failure([audio, line, audio]);
    expect(error.code).toBe('decode');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/Line 2 of the timestamped stream/);
  });

  it('a body that is not ndjson is a server error', async () => {
    const error = await failure([audio], { contentType: 'audio/pcm' });
    expect(error.code).toBe('server');
    expect(error.message).toMatch(/application\/x-ndjson/);
  });

  it('a body that ends inside a line is a dropped connection (network), resumed by reconnect', async () => {
    const error = await failure([audio, '{"audio":"AAAA'], { noFinalNewline: true, retries: 0 });
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/ended inside a line/);
  });

  it('a last line without its newline still counts when it is whole', async () => {
    const server = await startTimestampsServer({ audio: new Uint8Array(0), audioType: 'audio/pcm', bytesPerSecond: 48000, words: [], raw: { lines: [audio, audio], noFinalNewline: true } });
    try {
      const { value } = await pipeline(ttsSource({ baseUrl: server.url, text: TEXT, timestamps: true }), decode(), collect()).done;
      expect(value!.pcm!.channels[0].length).toBe(480);
    } finally {
      await server.close();
    }
  });
});
