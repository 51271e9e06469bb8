// Helpers for tests against the real /v1/tts/stream server (packages/server)
// with the real espeak engine: start one on 127.0.0.1, call it, measure the audio.
import { decode } from '../../packages/codecs/src/index.js';
import { collect, fromBytes, pipeline } from '../../packages/core/src/index.js';
import { createEspeakEngine, medianF0, type EspeakEngine } from '../../packages/engine-espeak/src/index.js';
import { startTestServer as startServer, type TestServer as PackageTestServer, type TestServerOptions } from '../../packages/server/src/testing/index.js';
import { joinBytes as join } from '@voxpipe/core/testing';
import { availableParallelism } from 'node:os';

export type TestServer = PackageTestServer<EspeakEngine>;

/** A real server on 127.0.0.1 (port 0) with its own espeak engine (`@voxpipe/server/testing`); `close` stops both. */
export function startTestServer(options: Omit<TestServerOptions, 'engine'> & { workers?: number } = {}): Promise<TestServer> {
  const { workers = 1, ...rest } = options;
  return startServer<EspeakEngine>({ ...rest, engine: createEspeakEngine({ workers }) });
}

export interface StreamResult {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  /** ms from sending the request to the first body byte. */
  firstByteMs: number;
  /** ms from sending the request to the end of the body. */
  totalMs: number;
}

/** POSTs to /v1/tts/stream and reads the whole body, timing it. */
export async function ttsStream(base: string, body: unknown, headers: Record<string, string> = {}): Promise<StreamResult> {
  const started = performance.now();
  const response = await fetch(`${base}/v1/tts/stream`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const parts: Uint8Array[] = [];
  let firstByteMs = NaN;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (Number.isNaN(firstByteMs) && value.byteLength > 0) firstByteMs = performance.now() - started;
      parts.push(value);
    }
  }
  return { status: response.status, headers: response.headers, bytes: join(parts), firstByteMs, totalMs: performance.now() - started };
}

export { join };

/** s16le bytes as float samples. */
export function s16leToFloat(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

/** Decodes MP3 bytes with voxpipe's decoder (mpg123-decoder). */
export async function decodeMp3(bytes: Uint8Array): Promise<{ samples: Float32Array; sampleRate: number; channels: number }> {
  const { value } = await pipeline(fromBytes(bytes, { format: { kind: 'bytes', container: 'mp3' } }), decode(), collect()).done;
  const pcm = value!.pcm!;
  return { samples: pcm.channels[0], sampleRate: pcm.sampleRate, channels: pcm.channels.length };
}

/** What the audio looks like: its length, how much of it is loud, and its voice pitch. */
export function describeSpeech(samples: Float32Array, sampleRate: number): { seconds: number; rms: number; activeShare: number; f0?: number } {
  let sum = 0;
  for (const x of samples) sum += x * x;
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  const frame = Math.round(sampleRate * 0.02);
  let active = 0;
  let frames = 0;
  for (let i = 0; i + frame <= samples.length; i += frame, frames++) {
    let e = 0;
    for (let k = i; k < i + frame; k++) e += samples[k] * samples[k];
    if (Math.sqrt(e / frame) > 0.01) active++;
  }
  return { seconds: samples.length / sampleRate, rms, activeShare: frames ? active / frames : 0, f0: medianF0(samples, sampleRate) };
}

/** A text of about `chars` characters, in plain sentences. */
export function longText(chars: number): string {
  const sentences = [
    'The quick brown fox jumps over the lazy dog.',
    'Streaming speech lets a listener hear the start of an answer while the rest is still being made.',
    'Every sentence here is ordinary English, so the engine reads it at its usual pace.',
    'A voice assistant should answer quickly, and keep talking without gaps.',
  ];
  let out = '';
  for (let i = 0; out.length < chars; i++) out += (out ? ' ' : '') + sentences[i % sentences.length];
  return out.slice(0, chars);
}

/** A started, ready server whose rate and per-key stream limits never stand in a test's way, with an engine worker per core; `close` ends its streams, then stops it and its engine. */
export async function startRoomyServer(key: string): Promise<TestServer> {
  const started = await startTestServer({ workers: availableParallelism(), keys: [key], limits: { requestsPerSecond: 10_000, burst: 10_000, concurrentStreamsPerKey: 64 } });
  await started.server.ready();
  return {
    ...started,
    async close() {
      await started.server.close();
      await started.close();
    },
  };
}
