// The server's `format: "opus"` (Ogg Opus) against its PCM stream of the same
// request: our decode() and ffmpeg both give the same audio (by correlation,
// not bytes), the first audio page leaves while synthesis goes on, and Range
// resumes the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decode, OggPacketReader } from '../packages/codecs/src/index.js';
import { collect, fromBytes, pipeline, type PcmChunk } from '../packages/core/src/index.js';
import { opusPageByteAt } from '../packages/server/src/ogg-opus-encode.js';
import { limitFor, RUN_MS, SETTLE, START_MS } from './support/budgets.js';
import { longText, s16leToFloat, startTestServer, ttsStream, type TestServer } from './support/tts-server.js';
import { hasTool } from './support/tools.js';

const KEY = 'sk-opus-test';
const headers = { 'X-API-Key': KEY };
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ keys: [KEY], workers: 1, limits: { burst: 1000, requestsPerSecond: 1000 } });
}, limitFor(START_MS));
afterAll(async () => {
  await t?.close();
});

const ffmpeg = hasTool('ffmpeg', 'server opus against ffmpeg');

/** The best normalized correlation of `a` against `b` within `maxLag` samples, and its lag. */
function bestCorrelation(a: Float32Array, b: Float32Array, maxLag: number): { c: number; lag: number } {
  let best = { c: -1, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = Math.max(0, -lag); i < Math.min(a.length - lag, b.length); i++) {
      ab += a[i + lag] * b[i];
      aa += a[i + lag] * a[i + lag];
      bb += b[i] * b[i];
    }
    const c = ab / Math.sqrt(aa * bb);
    if (c > best.c) best = { c, lag };
  }
  return best;
}

async function decodeOurs(bytes: Uint8Array, contentType: string): Promise<PcmChunk> {
  const container = contentType.startsWith('audio/ogg') ? 'opus' : undefined;
  const { value } = await pipeline(fromBytes(bytes, { format: { kind: 'bytes', container } }), decode(), collect()).done;
  return value!.pcm!;
}

const body = { text: 'Opus carries the same voice in a tenth of the bytes. Listen: one, two, three.', voice: 'Emma', language: 'en-US', model: 'aura-lite' };

describe('server format "opus"', () => {
  it(
    'decodes, with decode() and with ffmpeg, to the audio of the PCM stream of the same request',
    async () => {
      const pcm = await ttsStream(t.url, { ...body, format: 'pcm' }, headers);
      const opus = await ttsStream(t.url, { ...body, format: 'opus' }, headers);
      expect(opus.status).toBe(200);
      expect(opus.headers.get('content-type')).toBe('audio/ogg; codecs=opus');
      expect(opus.headers.get('x-audio-format')).toBe('opus');
      expect(opus.headers.get('x-audio-encoding')).toBeNull();
      expect(opus.headers.get('etag')).toMatch(/^"/);
      const reference = s16leToFloat(pcm.bytes);
      const ours = await decodeOurs(opus.bytes, opus.headers.get('content-type')!);
      expect(ours.sampleRate).toBe(24000);
      expect(ours.channels.length).toBe(1);
      expect(ours.channels[0].length).toBe(reference.length); // the last granule position ends it where the PCM ends
      const match = bestCorrelation(ours.channels[0], reference, 200);
      expect(match.c).toBeGreaterThan(0.8);
      expect(Math.abs(match.lag)).toBeLessThanOrEqual(3);
      expect(opus.bytes.byteLength * 8).toBeLessThan(pcm.bytes.byteLength); // under an eighth of PCM's bytes

      if (ffmpeg) {
        const dir = mkdtempSync(join(tmpdir(), 'voxpipe-server-opus-'));
        try {
          writeFileSync(join(dir, 'speech.opus'), opus.bytes);
          const raw = execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', join(dir, 'speech.opus'), '-ar', '24000', '-f', 'f32le', '-c:a', 'pcm_f32le', '-'], { maxBuffer: 1 << 28 });
          const theirs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
          expect(Math.abs(theirs.length - reference.length)).toBeLessThanOrEqual(2);
          expect(bestCorrelation(theirs, reference, 200).c).toBeGreaterThan(0.8);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    },
    limitFor(RUN_MS, RUN_MS),
  );

  it(
    'sends the first audio page while synthesis goes on',
    async () => {
      const before = t.engine.stats();
      const firstAudioPage = await new Promise<{ bytes: Uint8Array; destroy: () => void }>((resolve, reject) => {
        const req = httpRequest(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' } }, (res) => {
          const reader = new OggPacketReader();
          const seen: Buffer[] = [];
          let packets = 0;
          const onData = (chunk: Buffer) => {
            seen.push(chunk);
            packets += reader.push(new Uint8Array(chunk)).length;
            if (packets >= 3) {
              // OpusHead, OpusTags, then the first audio page's packet
              res.pause();
              res.off('data', onData);
              resolve({ bytes: new Uint8Array(Buffer.concat(seen)), destroy: () => req.destroy() });
            }
          };
          res.on('data', onData);
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ ...body, text: longText(3000), format: 'opus' }));
      });
      // The engine has not finished this request: the first page left long before the last.
      expect(t.engine.stats().completed).toBe(before.completed);
      expect(firstAudioPage.bytes.byteLength).toBeLessThan(1000);
      firstAudioPage.destroy();
      await vi.waitFor(() => expect(t.engine.stats().active).toBe(before.active), SETTLE);
    },
    limitFor(RUN_MS, SETTLE.timeout),
  );

  it(
    'with timestamps: the same bytes as audio lines, each word just before the page that gives its first sample',
    async () => {
      const plain = await ttsStream(t.url, { ...body, format: 'opus' }, headers);
      const response = await fetch(`${t.url}/v1/tts/stream/with-timestamps`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, format: 'opus' }) });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-audio-content-type')).toBe('audio/ogg; codecs=opus');
      const parts: Uint8Array[] = [];
      const wordBytes: Array<{ start: number; at: number }> = [];
      let at = 0;
      for (const line of (await response.text()).trim().split('\n')) {
        const parsed = JSON.parse(line) as { audio?: string; words?: Array<{ start: number }> };
        if (parsed.audio !== undefined) {
          const bytes = new Uint8Array(Buffer.from(parsed.audio, 'base64'));
          parts.push(bytes);
          at += bytes.byteLength;
        } else for (const word of parsed.words!) wordBytes.push({ start: word.start, at });
      }
      const audio = Buffer.concat(parts);
      expect(audio.equals(Buffer.from(plain.bytes))).toBe(true);
      expect(wordBytes.length).toBeGreaterThan(5);
      for (const word of wordBytes) expect(word.at).toBe(Math.min(opusPageByteAt(Math.round(word.start * 24000), 24000, 32), audio.byteLength));
    },
    limitFor(RUN_MS, RUN_MS),
  );

  it(
    'resumes by Range to exactly the tail of the whole stream, and its ETag is not the MP3 stream\'s',
    async () => {
      const full = await ttsStream(t.url, { ...body, format: 'opus' }, headers);
      const mp3 = await ttsStream(t.url, { ...body, format: 'mp3' }, headers);
      expect(full.headers.get('etag')).not.toBe(mp3.headers.get('etag'));
      for (const n of [1, 98, Math.floor(full.bytes.byteLength * 0.6) | 1]) {
        const tail = await ttsStream(t.url, { ...body, format: 'opus' }, { ...headers, Range: `bytes=${n}-`, 'If-Range': full.headers.get('etag')! });
        expect(tail.status).toBe(206);
        expect(tail.headers.get('content-range')).toBe(`bytes ${n}-${full.bytes.byteLength - 1}/${full.bytes.byteLength}`);
        expect(Buffer.from(tail.bytes).equals(Buffer.from(full.bytes.subarray(n)))).toBe(true);
      }
    },
    limitFor(RUN_MS, RUN_MS, RUN_MS, RUN_MS, RUN_MS),
  );
});
