// POST /v1/tts/stream/with-timestamps on a real server with the real espeak
// engine: the audio lines are byte for byte the plain stream (PCM, MP3 and WAV,
// every model path, speed and pitch), the words slice the request's text into
// its words and come no later than their audio, a Range resume is exact, and
// errors are the plain stream's.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MP3_DELAY_SAMPLES } from '../packages/server/src/audio.js';
import { decodeMp3, join, s16leToFloat, startTestServer, ttsStream, type TestServer } from './support/tts-server.js';

const KEY = 'sk-timestamps-test';
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ keys: [KEY], workers: 2, limits: { burst: 1000, requestsPerSecond: 1000 } });
});
afterAll(async () => {
  await t?.close();
});

const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };

interface Word {
  text: string;
  start: number;
  end: number;
  charStart: number;
  charEnd: number;
}

interface Timestamped {
  status: number;
  headers: Headers;
  /** Every line, parsed, in order. */
  lines: Array<{ audio?: string; words?: Word[] }>;
  /** The audio lines' bytes, joined. */
  audio: Uint8Array;
  words: Word[];
  /** For each word, the audio bytes sent before its line. */
  wordBytes: number[];
  /** The body as text (an error's JSON). */
  text: string;
}

/** POSTs to /v1/tts/stream/with-timestamps and reads every line. */
async function withTimestamps(body: unknown, extra: Record<string, string> = {}): Promise<Timestamped> {
  const response = await fetch(`${t.url}/v1/tts/stream/with-timestamps`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
  const text = await response.text();
  const result: Timestamped = { status: response.status, headers: response.headers, lines: [], audio: new Uint8Array(0), words: [], wordBytes: [], text };
  if (!/ndjson/.test(response.headers.get('content-type') ?? '')) return result;
  expect(text.endsWith('\n')).toBe(true);
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (const line of text.slice(0, -1).split('\n')) {
    const parsed = JSON.parse(line) as { audio?: string; words?: Word[] };
    expect(Object.keys(parsed)).toHaveLength(1);
    result.lines.push(parsed);
    if (parsed.audio !== undefined) {
      const audio = new Uint8Array(Buffer.from(parsed.audio, 'base64'));
      expect(audio.byteLength).toBeGreaterThan(0);
      parts.push(audio);
      bytes += audio.byteLength;
    } else {
      for (const word of parsed.words!) {
        result.words.push(word);
        result.wordBytes.push(bytes);
      }
    }
  }
  result.audio = join(parts);
  return result;
}

/** The words of a text as a reader sees them (whitespace-separated, without unheard punctuation at either end). */
function wordsOf(text: string): Array<{ text: string; start: number; end: number }> {
  const quiet = '.,;:!?¡¿…"\'“”„‘’‚«»‹›()[\\]{}\\-‐‑–—';
  const out: Array<{ text: string; start: number; end: number }> = [];
  for (const match of text.matchAll(/\S+/gu)) {
    const stripped = match[0].replace(new RegExp(`^[${quiet}]+`, 'u'), '').replace(new RegExp(`[${quiet}]+$`, 'u'), '');
    if (stripped === '') continue;
    const start = match.index + match[0].indexOf(stripped);
    out.push({ text: stripped, start, end: start + stripped.length });
  }
  return out;
}

/** The words cover the text's words in order, each `text.slice(charStart, charEnd)`, timed in order within the audio. */
function checkWords(text: string, words: Word[], seconds: number): void {
  const expected = wordsOf(text);
  let next = 0;
  let lastEnd = 0;
  for (const word of words) {
    expect(text.slice(word.charStart, word.charEnd)).toBe(word.text);
    expect(word.charStart).toBe(expected[next]?.start);
    const last = expected.findIndex((w, i) => i >= next && w.end === word.charEnd);
    expect(last).toBeGreaterThanOrEqual(next);
    next = last + 1;
    expect(word.start).toBeGreaterThanOrEqual(lastEnd - 1e-5);
    expect(word.end).toBeGreaterThanOrEqual(word.start);
    expect(word.end).toBeLessThanOrEqual(seconds + 1e-3);
    lastEnd = word.end;
  }
  expect(next).toBe(expected.length);
}

/** Seconds of audio in the plain stream's bytes. */
const secondsOf = (format: string, bytes: Uint8Array) => (format === 'mp3' ? (bytes.byteLength / 144) * (576 / 24000) : (bytes.byteLength - (format === 'wav' ? 44 : 0)) / 48000);

describe('POST /v1/tts/stream/with-timestamps', () => {
  it('sends the plain stream\'s very bytes as audio lines, with words that slice the text into its words (PCM and MP3, every model path, speed and pitch)', async () => {
    const cases = [
      { text: 'Hello,   world! Streaming speech, word by word: 1939 was a year.', voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' },
      { text: 'Hello,   world! Streaming speech, word by word: 1939 was a year.', voice: 'Anna', language: 'en-US', model: 'aura-2', format: 'mp3', speed: 1.6 },
      { text: 'Rapid flash says each sentence whole. Then the next one. Café, naïve, 😀 — done?', voice: 'Emma', language: 'en-GB', model: 'rapid-flash', format: 'mp3', speed: 0.8, pitch: 3 },
      { text: 'Rapid flash says each sentence whole. Then the next one.', voice: 'Daniel', language: 'en-US', model: 'rapid-flash', format: 'pcm', pitch: -4 },
      { text: 'Der schnelle braune Fuchs. Er springt über den faulen Hund.', voice: 'Thomas', language: 'de-DE', model: 'rapid-max', format: 'pcm', speed: 2 },
      { text: 'A WAV stream starts with its header.', voice: 'Sophie', language: 'en-US', model: 'aura', format: 'wav' },
    ];
    for (const body of cases) {
      const [plain, timed] = await Promise.all([ttsStream(t.url, body, { 'X-API-Key': KEY }), withTimestamps(body)]);
      expect(plain.status).toBe(200);
      expect(timed.status).toBe(200);
      expect(timed.headers.get('content-type')).toBe('application/x-ndjson');
      expect(timed.headers.get('x-audio-content-type')).toBe(plain.headers.get('content-type'));
      expect(timed.headers.get('etag')).toBe(plain.headers.get('etag'));
      expect(timed.headers.get('x-model')).toBe(body.model);
      expect(Buffer.from(timed.audio).equals(Buffer.from(plain.bytes)), `${body.model} ${body.format}`).toBe(true);
      checkWords(body.text, timed.words, secondsOf(body.format, plain.bytes));
      // Each word's line comes just before the audio line that starts with the bytes of its first sample (its
      // 24 kHz sample in PCM; the MP3 frame a decoder gives it from, MP3_DELAY_SAMPLES later), never after it.
      expect(timed.headers.get('x-audio-delay-samples')).toBe(body.format === 'mp3' ? String(MP3_DELAY_SAMPLES) : null);
      timed.words.forEach((word, i) => {
        const sample = Math.round(word.start * 24000);
        const first = body.format === 'mp3' ? 144 * Math.floor((sample + MP3_DELAY_SAMPLES) / 576) : (body.format === 'wav' ? 44 : 0) + 2 * sample;
        expect(timed.wordBytes[i]).toBe(Math.min(first, timed.audio.byteLength));
      });
    }
  });

  it('a word\'s start is where its speech is in the PCM; MP3 gives the same audio 1105 samples (46 ms) later', async () => {
    const body = { text: 'One. Two. Three.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
    const pcm = await withTimestamps({ ...body, format: 'pcm' });
    const mp3 = await withTimestamps({ ...body, format: 'mp3' });
    expect(mp3.words).toEqual(pcm.words);
    const samples = s16leToFloat(pcm.audio);
    // Each word starts near the onset of its sound, after the sentence pause before it.
    for (const word of pcm.words) {
      const at = Math.round(word.start * 24000);
      const level = (from: number, to: number) => Math.sqrt(samples.subarray(Math.max(0, from), to).reduce((n, x) => n + x * x, 0) / Math.max(1, to - from));
      expect(level(at, at + 4800)).toBeGreaterThan(4 * level(at - 2400, at));
    }
    // The MP3 pair (LAME, then mpg123) delays every sample by MP3_DELAY_SAMPLES: the words' times are the PCM's.
    const decoded = (await decodeMp3(mp3.audio)).samples;
    let best = -1;
    let bestScore = -Infinity;
    for (let shift = 0; shift < 2000; shift++) {
      let score = 0;
      for (let i = 0; i < 24000 && i + shift < decoded.length; i += 3) score += samples[i] * decoded[i + shift];
      if (score > bestScore) [best, bestScore] = [shift, score];
    }
    expect(best).toBe(MP3_DELAY_SAMPLES);
  });

  it('resumes exactly from any audio byte: Range bytes=N- with If-Range gives 206 lines of the audio from N and the words from there (property)', async () => {
    for (const format of ['pcm', 'mp3'] as const) {
      const body = { text: 'Resume me anywhere. The words after the cut come once, the audio byte for byte.', voice: 'Sophie', language: 'en-US', model: 'aura-lite', format };
      const whole = await withTimestamps(body);
      const tag = whole.headers.get('etag')!;
      const total = whole.audio.byteLength;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: total - 1 }), async (n) => {
          // A client cut after n audio bytes: the lines it holds whole, then a resume from n.
          const range = await withTimestamps(body, { Range: `bytes=${n}-`, 'If-Range': tag });
          expect(range.status).toBe(206);
          expect(range.headers.get('content-range')).toBe(`bytes ${n}-${total - 1}/${total}`);
          expect(Buffer.from(range.audio).equals(Buffer.from(whole.audio.subarray(n)))).toBe(true);
          // The words from n on are the whole stream's words sent at or after audio byte n (those before, the client has).
          const after = whole.words.filter((_, i) => whole.wordBytes[i] >= n);
          expect(range.words).toEqual(after);
        }),
        { numRuns: 8 },
      );
      // At a line boundary: nothing missing, nothing twice.
      const boundary = whole.wordBytes.find((b) => b > 0)!;
      const resumed = await withTimestamps(body, { Range: `bytes=${boundary}-`, 'If-Range': tag });
      const before = whole.words.filter((_, i) => whole.wordBytes[i] < boundary);
      expect([...before, ...resumed.words]).toEqual(whole.words);
      // An If-Range that is not the stream's tag: the whole stream, 200.
      const other = await withTimestamps(body, { Range: 'bytes=100-', 'If-Range': '"another"' });
      expect(other.status).toBe(200);
      expect(other.words).toEqual(whole.words);
    }
  });

  it('is never served from the audio cache, which holds no words', async () => {
    const cached = await startTestServer({ keys: [KEY], cache: { maxBytes: 10_000_000 } });
    try {
      const body = { text: 'Say it twice.', voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' };
      const first = await ttsStream(cached.url, body, { 'X-API-Key': KEY });
      const again = await ttsStream(cached.url, body, { 'X-API-Key': KEY });
      expect(again.headers.get('x-cache')).toBe('hit');
      const response = await fetch(`${cached.url}/v1/tts/stream/with-timestamps`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(response.headers.get('x-cache')).toBeNull();
      const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { audio?: string; words?: Word[] });
      expect(lines.flatMap((line) => line.words ?? []).map((w) => w.text)).toEqual(['Say', 'it', 'twice']);
      expect(Buffer.concat(lines.flatMap((line) => (line.audio ? [Buffer.from(line.audio, 'base64')] : []))).equals(Buffer.from(first.bytes))).toBe(true);
    } finally {
      await cached.close();
    }
  });

  it('answers errors as /v1/tts/stream does: JSON with the right status', async () => {
    const body = { text: 'Hello there.', voice: 'Peter', language: 'en-US', model: 'aura-lite', format: 'pcm' };
    const cases: Array<[unknown, Record<string, string>, number, string]> = [
      [body, { 'X-API-Key': 'wrong' }, 401, ''],
      [{ ...body, model: 'nope' }, {}, 400, 'unknown-model'],
      [{ ...body, pitch: 2 }, {}, 400, 'pitch-not-supported'],
      [{ ...body, voice: 'Nobody' }, {}, 400, 'unknown-voice'],
      [body, { Range: 'bytes=5-2' }, 416, 'range-not-satisfiable'],
      [body, { Range: 'bytes=900000000-' }, 416, 'range-not-satisfiable'],
    ];
    for (const [request, extra, status, code] of cases) {
      const [plain, timed] = await Promise.all([ttsStream(t.url, request, { ...headers, ...extra }), withTimestamps(request, extra)]);
      expect(timed.status).toBe(status);
      expect(plain.status).toBe(status);
      expect(timed.headers.get('content-type')).toMatch(/application\/json/);
      const error = JSON.parse(timed.text) as { error: { code: string; message: string } };
      expect(error).toEqual(JSON.parse(new TextDecoder().decode(plain.bytes)));
      if (code) expect(error.error.code).toBe(code);
    }
    const get = await fetch(`${t.url}/v1/tts/stream/with-timestamps`, { headers });
    expect(get.status).toBe(405);
  });
});
