// The /v1/tts/stream server against its product document: a real server on
// 127.0.0.1 with the real espeak engine, called the way the document's own
// examples call it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from '@voxpipe/server';
import { splitSentences, type SynthesisRequest } from '../packages/core/src/index.js';
import { semitonesBetween, type EspeakSynthesisRequest } from '../packages/engine-espeak/src/index.js';
import { CHILD_MS, limitFor, SETTLE } from './support/budgets.js';
import { decodeMp3, describeSpeech, longText, s16leToFloat, startTestServer, ttsStream, type TestServer } from './support/tts-server.js';

const run = promisify(execFile);
let t: TestServer;
let dir: string;

/** Requests with this key have their synthesis held part-way (see `holdAfterFirstSentence`). */
const HELD_KEY = 'sk-held-part-way';
const heldKeyId = createHash('sha256').update(HELD_KEY).digest('hex').slice(0, 8);

/**
 * Holds synthesis part-way, in code (API callers cannot reach the engine's test hooks): every engine
 * request but the text's first sentence pauses after its first piece (for up to 30 s, or until the
 * stream is cancelled). A stream that gives its first byte meanwhile did not wait for the whole text.
 */
function holdAfterFirstSentence(request: SynthesisRequest, { keyId, text }: { keyId: string; text: string }): SynthesisRequest {
  if (keyId !== heldKeyId || request.text === splitSentences(text)[0]) return request;
  return { ...request, __test: { pauseAfterChunks: 3 } } as EspeakSynthesisRequest;
}

beforeAll(async () => {
  // The document's examples send the key "your_api_key": configure exactly that.
  t = await startTestServer({ keys: ['your_api_key', HELD_KEY], workers: 2, hooks: { synthesis: holdAfterFirstSentence } });
  dir = await mkdtemp(join(tmpdir(), 'voxpipe-server-test-'));
});
afterAll(async () => {
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The document's Python example, as written; only the URL differs (and the indentation the document lost). */
function pythonExample(url: string): string {
  return `import requests
import pyaudio
# Initialize audio player
p = pyaudio.PyAudio()
stream = p.open(format=pyaudio.paInt16,
                channels=1,
                rate=24000,
                output=True)
# Request streaming audio
response = requests.post(
    "${url}/v1/tts/stream",
    headers={"X-API-Key": "your_api_key"},
    json={
        "text": "This audio is being streamed in real-time.",
        "voice": "Peter",
        "language": "en-US",
        "model": "aura-lite"  # Fast model for streaming
    },
    stream=True
)
# Play audio as it arrives
for chunk in response.iter_content(chunk_size=4096):
    if chunk:
        stream.write(chunk)
stream.stop_stream()
stream.close()
p.terminate()
`;
}

/** Stands in for pyaudio: what would be played is written to a file, with the stream's parameters beside it. */
const FAKE_PYAUDIO = `import json, os
paInt16 = 8
class _Stream:
    def __init__(self, params):
        out = os.environ["VOXPIPE_AUDIO_OUT"]
        with open(out + ".json", "w") as f:
            json.dump(params, f)
        self._file = open(out, "wb")
        self.writes = 0
    def write(self, data):
        self.writes += 1
        self._file.write(data)
    def stop_stream(self):
        pass
    def close(self):
        self._file.close()
class PyAudio:
    def open(self, format, channels, rate, output=False, **kwargs):
        return _Stream({"format": format, "channels": channels, "rate": rate, "output": output})
    def terminate(self):
        pass
`;

describe('the product document, run as written', () => {
  it('Python example (requests, aura-lite): 24 kHz int16 mono speech of plausible length', async () => {
    await writeFile(join(dir, 'pyaudio.py'), FAKE_PYAUDIO);
    await writeFile(join(dir, 'example.py'), pythonExample(t.url));
    const out = join(dir, 'played.pcm');
    await run('python3', [join(dir, 'example.py')], { env: { ...process.env, PYTHONPATH: dir, VOXPIPE_AUDIO_OUT: out }, timeout: CHILD_MS });
    const params = JSON.parse(await readFile(`${out}.json`, 'utf8'));
    expect(params).toEqual({ format: 8, channels: 1, rate: 24000, output: true });
    const bytes = new Uint8Array(await readFile(out));
    expect(bytes.byteLength % 2).toBe(0);
    const speech = describeSpeech(s16leToFloat(bytes), 24000);
    // "This audio is being streamed in real-time." — 8 words: about 2–4 s at a normal pace.
    expect(speech.seconds).toBeGreaterThan(1.5);
    expect(speech.seconds).toBeLessThan(6);
    expect(speech.activeShare).toBeGreaterThan(0.4);
    expect(speech.f0).toBeGreaterThan(70);
    expect(speech.f0).toBeLessThan(300);
  }, limitFor(CHILD_MS)); // python3 is ended after CHILD_MS

  it('browser example request (no model → rapid-flash): MP3 that decodes to the speech', async () => {
    // The body and headers the document's fetch() sends.
    const res = await ttsStream(t.url, { text: 'Hello from streaming!', voice: 'Peter', language: 'en-US' }, { 'X-API-Key': 'your_api_key' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('x-model')).toBe('rapid-flash');
    const mp3 = await decodeMp3(res.bytes);
    expect(mp3.sampleRate).toBe(24000);
    expect(mp3.channels).toBe(1);
    const speech = describeSpeech(mp3.samples, mp3.sampleRate);
    expect(speech.seconds).toBeGreaterThan(0.8);
    expect(speech.seconds).toBeLessThan(4);
    expect(speech.activeShare).toBeGreaterThan(0.3);
  });
});

describe('formats', () => {
  const body = { text: 'Formats are chosen by the body, then Accept.', voice: 'Anna', language: 'en-GB', model: 'aura' };
  const key = { 'X-API-Key': 'your_api_key' };

  it('pcm headers say s16le, 24000 Hz, mono', async () => {
    const res = await ttsStream(t.url, body, key);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/pcm; rate=24000; channels=1');
    expect(res.headers.get('x-sample-rate')).toBe('24000');
    expect(res.headers.get('x-channels')).toBe('1');
    expect(res.headers.get('x-audio-format')).toBe('pcm');
    expect(res.headers.get('x-audio-encoding')).toBe('s16le');
  });

  it('Accept picks mp3 or wav; a format in the body wins over Accept', async () => {
    const mp3 = await ttsStream(t.url, body, { ...key, Accept: 'audio/mpeg' });
    expect(mp3.headers.get('content-type')).toBe('audio/mpeg');
    expect((await decodeMp3(mp3.bytes)).samples.length).toBeGreaterThan(24000);

    const wav = await ttsStream(t.url, body, { ...key, Accept: 'audio/wav' });
    expect(wav.headers.get('content-type')).toBe('audio/wav');
    const head = new DataView(wav.bytes.buffer, wav.bytes.byteOffset);
    expect(new TextDecoder().decode(wav.bytes.subarray(0, 4))).toBe('RIFF');
    expect(new TextDecoder().decode(wav.bytes.subarray(8, 12))).toBe('WAVE');
    expect(head.getUint16(22, true)).toBe(1); // channels
    expect(head.getUint32(24, true)).toBe(24000);
    expect(head.getUint16(34, true)).toBe(16);

    const pcm = await ttsStream(t.url, { ...body, format: 'pcm' }, { ...key, Accept: 'audio/mpeg' });
    expect(pcm.headers.get('content-type')).toBe('audio/pcm; rate=24000; channels=1');
    // The same audio in every format: wav = 44-byte header + the pcm bytes.
    expect(wav.bytes.byteLength - 44).toBe(pcm.bytes.byteLength);
    expect(Buffer.from(wav.bytes.subarray(44)).equals(Buffer.from(pcm.bytes))).toBe(true);
  });
});

describe('streaming behaviour', () => {
  const key = { 'X-API-Key': 'your_api_key' };

  // Not timed (a busy machine would make any time ratio a coin toss): the synthesis is held part-way,
  // so a first byte that arrives at all arrived before the whole text was made.
  it('2,000 characters: the first byte arrives while most of the text is still unmade (aura-lite pcm and mp3, rapid-flash)', async () => {
    const text = longText(2000);
    const sentences = splitSentences(text).length;
    for (const [model, format] of [['aura-lite', 'pcm'], ['aura-lite', 'mp3'], ['rapid-flash', 'pcm']] as const) {
      const before = t.engine.stats();
      const controller = new AbortController();
      const res = await fetch(`${t.url}/v1/tts/stream`, {
        method: 'POST',
        headers: { 'X-API-Key': HELD_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text, voice: 'Peter', language: 'en-US', model, format }),
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let first = await reader.read();
      while (!first.done && first.value.byteLength === 0) first = await reader.read();
      expect(first.done).toBe(false);
      // aura-lite: one engine request, unfinished; rapid-flash: at most the first of many sentences finished.
      const made = t.engine.stats().completed - before.completed;
      expect(made).toBeLessThanOrEqual(model === 'rapid-flash' ? 1 : 0);
      expect(sentences).toBeGreaterThan(10);
      controller.abort();
      await reader.cancel().catch(() => {});
      await vi.waitFor(() => {
        expect(t.server.openStreams).toBe(0);
        expect(t.engine.stats()).toMatchObject({ active: 0, busy: 0 });
      }, SETTLE);
    }
  });

  it('speed 2.0 roughly halves the duration (both paths)', async () => {
    const text = 'Speaking twice as fast should take about half as long as speaking at the normal pace.';
    for (const model of ['aura-lite', 'rapid-flash']) {
      const normal = await ttsStream(t.url, { text, voice: 'Peter', language: 'en-US', model, format: 'pcm' }, key);
      const fast = await ttsStream(t.url, { text, voice: 'Peter', language: 'en-US', model, format: 'pcm', speed: 2 }, key);
      const ratio = fast.bytes.byteLength / normal.bytes.byteLength;
      expect(ratio).toBeGreaterThan(0.4);
      expect(ratio).toBeLessThan(0.65);
    }
  });

  it('pitch on rapid-flash moves f0 by the requested number of semitones', async () => {
    const text = 'Pitch moves the voice up or down, but the words stay the same.';
    const f0 = async (pitch?: number) => {
      const res = await ttsStream(t.url, { text, voice: 'Peter', language: 'en-US', model: 'rapid-flash', format: 'pcm', pitch }, key);
      expect(res.status).toBe(200);
      return describeSpeech(s16leToFloat(res.bytes), 24000).f0!;
    };
    const base = await f0();
    const up = await f0(4);
    const down = await f0(-4);
    expect(semitonesBetween(base, up)).toBeGreaterThan(3);
    expect(semitonesBetween(base, up)).toBeLessThan(5);
    expect(semitonesBetween(base, down)).toBeLessThan(-3);
    expect(semitonesBetween(base, down)).toBeGreaterThan(-5);
  });

  it('pitch on aura-lite is a 400 that says pitch is not available on that streaming path', async () => {
    const res = await ttsStream(t.url, { text: 'Hi.', voice: 'Peter', language: 'en-US', model: 'aura-lite', pitch: 2 }, key);
    expect(res.status).toBe(400);
    const body = JSON.parse(new TextDecoder().decode(res.bytes));
    expect(body.error.code).toBe('pitch-not-supported');
    expect(body.error.message).toMatch(/pitch is not available on aura-lite's streaming path/);
  });
});

describe('catalogue', () => {
  it('GET /v1/models lists the models and the default', async () => {
    const body = await (await fetch(`${t.url}/v1/models`)).json();
    expect(body.default).toBe('rapid-flash');
    const ids = body.models.map((m: { id: string }) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['aura-lite', 'aura', 'rapid-max', 'rapid-flash']));
    expect(body.models.find((m: { id: string }) => m.id === 'rapid-flash')).toMatchObject({ streaming: 'pseudo-streaming', pitch: true, defaultFormat: 'mp3' });
    expect(body.models.find((m: { id: string }) => m.id === 'aura-lite')).toMatchObject({ streaming: 'provider-streaming', pitch: false, defaultFormat: 'pcm' });
  });

  it('GET /v1/voices has Peter and male and female voices in every language, each of which speaks', async () => {
    const { voices } = (await (await fetch(`${t.url}/v1/voices`)).json()) as { voices: Array<{ name: string; language: string; gender: string }> };
    for (const language of ['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES']) {
      const here = voices.filter((v) => v.language === language);
      expect(here.map((v) => v.name)).toContain('Peter');
      expect(here.some((v) => v.gender === 'male')).toBe(true);
      expect(here.some((v) => v.gender === 'female')).toBe(true);
    }
    const fr = await ttsStream(t.url, { text: 'Bonjour tout le monde.', voice: 'Sophie', language: 'fr-FR', model: 'aura', format: 'pcm' }, { 'X-API-Key': 'your_api_key' });
    expect(fr.status).toBe(200);
    expect(describeSpeech(s16leToFloat(fr.bytes), 24000).seconds).toBeGreaterThan(0.5);
    const filtered = (await (await fetch(`${t.url}/v1/voices?language=de-DE`)).json()).voices;
    expect(filtered.every((v: { language: string }) => v.language === 'de-DE')).toBe(true);
  });

  it('GET / is the browser player, GET /demo.js its script; with demoPage false, a page listing models and voices; GET /healthz says ok', async () => {
    const page = await fetch(`${t.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<script[^>]+src="\/?demo\.js"/);
    const script = await fetch(`${t.url}/demo.js`);
    expect(script.headers.get('content-type')).toMatch(/text\/javascript/);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    const plain = createServer({ logger: false, env: {}, keys: ['k'], engine: t.engine, demoPage: false });
    const html = await (await plain.app.fetch(new Request('http://127.0.0.1/'))).text();
    expect(html).toContain('rapid-flash');
    expect(html).toContain('Peter');
    const health = await (await fetch(`${t.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, engine: 'espeak' });
  });
});
