// startTestServer: a real server on 127.0.0.1 with an engine and a key, for users' own tests.
import { describe, expect, it, vi } from 'vitest';
import { startTestServer, TEST_KEY } from './index.js';
import { toneEngine } from './tone-engine.js';

const hello = { text: 'Hello from a test.', voice: 'Peter', language: 'en-US', model: 'aura-lite' };
const post = (url: string, key: string) => fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body: JSON.stringify(hello) });

async function drain(stream: ReadableStream<unknown>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

describe('startTestServer', () => {
  it('with no engine: loads the engine package the server would, serves real speech on 127.0.0.1, and close() stops both', async () => {
    const t = await startTestServer();
    let closed = false;
    try {
      expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(t.listening.url).toBe(t.url);
      expect(t.key).toBe(TEST_KEY);
      expect(t.engine.name).toMatch(/espeak/i);
      const res = await post(t.url, t.key);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/pcm; rate=24000; channels=1');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      expect((await post(t.url, 'another-key')).status).toBe(401);
      await t.close();
      closed = true;
      await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
      await expect(drain(t.engine.synthesize({ text: 'Still there?', voice: t.engine.voices()[0].id }))).rejects.toThrow(/closed/);
    } finally {
      if (!closed) await t.close();
    }
  });

  it('with an engine: serves with it under the first key given, and close() closes it', async () => {
    const engine = toneEngine();
    const t = await startTestServer({ engine, keys: ['mine-0123456789', 'theirs-0123456789'] });
    expect(t.engine).toBe(engine);
    expect(t.key).toBe('mine-0123456789');
    const res = await post(t.url, 'theirs-0123456789');
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(engine.requests).toHaveLength(1);
    await t.close();
    expect(engine.closed).toBe(true);
  });

  it('reads no keys from the environment, and closes the engine when the server cannot start', async () => {
    vi.stubEnv('VOXPIPE_API_KEYS', 'from-env-0123456789');
    const t = await startTestServer({ engine: toneEngine() });
    try {
      expect((await post(t.url, 'from-env-0123456789')).status).toBe(401);
    } finally {
      vi.unstubAllEnvs();
      await t.close();
    }
    const engine = toneEngine();
    await expect(startTestServer({ engine, limits: { maxTextChars: -1 } })).rejects.toThrow(/maxTextChars/);
    expect(engine.closed).toBe(true);
  });
});
