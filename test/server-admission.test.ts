// The server admits a stream only if its engine can keep every stream ahead of real time: a burst
// past the engine's capacity is refused with 429 engine-busy and Retry-After, the admitted streams
// are exactly what an idle server sends, and once they end the engine takes new streams again.
// Counts and bytes only: how many a machine admits depends on its speed, that some are refused
// (and none of the admitted degraded) does not.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { limitFor, RUN_MS, SETTLE, START_MS } from './support/budgets.js';
import { longText, startTestServer, type TestServer } from './support/tts-server.js';

let server: TestServer;

beforeAll(async () => {
  // Stream limits far above the burst: what refuses here is the engine's capacity, nothing else.
  server = await startTestServer({ workers: 1, limits: { burst: 10_000, requestsPerSecond: 10_000, concurrentStreamsPerKey: 10_000, maxConcurrentStreams: 10_000 } });
}, START_MS);
afterAll(async () => {
  await server?.close();
});

const post = (text: string) =>
  fetch(`${server.url}/v1/tts/stream`, {
    method: 'POST',
    headers: { 'X-API-Key': server.key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ text, voice: 'Anna', language: 'en-US', model: 'aura-lite', format: 'pcm' }),
  });

describe('admission by the engine\'s capacity', () => {
  it(
    'a burst past capacity: the excess gets 429 engine-busy + Retry-After, every admitted stream is byte-identical to an idle server\'s, and the engine admits again once they end',
    async () => {
      const text = `Every admitted listener hears all of this in real time. ${longText(600)}`;
      const alone = Buffer.from(await (await post(text)).arrayBuffer());
      expect(alone.byteLength).toBeGreaterThan(48_000);

      // 120 streams at once on one worker: each one's first segment is due on arrival, so the work due at once outgrows
      // what the worker can make in time long before the last arrives, however fast the machine.
      const responses = await Promise.all(Array.from({ length: 120 }, () => post(text)));
      const admitted = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status !== 200);
      expect(admitted.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused) {
        expect(r.status).toBe(429);
        const retryAfter = r.headers.get('retry-after');
        expect(Number.isInteger(Number(retryAfter)) && Number(retryAfter) >= 1).toBe(true);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('engine-busy');
      }
      const stats = server.engine.stats();
      expect(stats.refused).toBe(refused.length);

      const heard = await Promise.all(admitted.map(async (r) => Buffer.from(await r.arrayBuffer())));
      for (const bytes of heard) expect(bytes.equals(alone)).toBe(true);

      // Every admitted stream has ended and given its admission back: the engine is idle and takes the next one.
      await vi.waitFor(() => expect(server.engine.stats()).toMatchObject({ active: 0, reserved: 0 }), SETTLE);
      const again = await post(text);
      expect(again.status).toBe(200);
      expect(Buffer.from(await again.arrayBuffer()).equals(alone)).toBe(true);
    },
    limitFor(RUN_MS, RUN_MS, SETTLE.timeout, RUN_MS),
  );
});
