// Benchmark of running several servers: the limiter's cost with Redis on loopback against the in-memory one (the
// same requests, interleaved), the audio cache's TTFB on a hit against a miss (and that a hit costs no engine work),
// and two servers sharing one Redis against one server with twice the server-wide limits (the same load: the same
// requests served, no key past its limit). Needs Debian's redis-server (starts its own). Prints; asserts nothing.
// Run: npx tsx bench/ops.ts   (one part: VOXPIPE_BENCH_OPS=2 npx tsx bench/ops.ts)
import { createEspeakEngine } from '../packages/engine-espeak/src/index.js';
import { createServer, type Limiter } from '../packages/server/src/index.js';
import { MemoryLimiter, serverLimits } from '../packages/server/src/index.js';
import { connectRedis } from '../packages/server/src/redis-connection.js';
import { redisLimiter } from '../packages/server/src/redis-limiter.js';
import { toneEngine } from '../packages/server/src/testing/tone-engine.js';
import { hasRedisServer, startRedis } from '../test/support/redis.js';

if (!hasRedisServer) {
  console.log('ops: redis-server is not installed (apt-get install redis-server); nothing measured');
  process.exit(0);
}
const KEY = 'bench-ops-key-0123';
const quiet = { info() {}, warn: (m: string) => console.error(`[server] ${m}`), error: (m: string) => console.error(`[server] ${m}`) };
const redis = await startRedis();
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (n: number) => `${n.toFixed(2)} ms`;

async function ttfb(url: string, body: object, key = KEY): Promise<{ status: number; firstByteMs: number }> {
  const start = performance.now();
  const res = await fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const reader = res.body!.getReader();
  let firstByteMs = NaN;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (Number.isNaN(firstByteMs) && value.byteLength > 0) firstByteMs = performance.now() - start;
  }
  return { status: res.status, firstByteMs };
}

// 1. The limiter: one decision on its own, and what it adds to TTFB.
const parts = (process.env.VOXPIPE_BENCH_OPS ?? '1,2,3').split(',');
if (parts.includes('1')) {
  const limits = serverLimits({ burst: 1e9, requestsPerSecond: 1e6, concurrentStreamsPerKey: 1e6, maxConcurrentStreams: 1e6 });
  const shared = connectRedis({ url: redis.url }, quiet);
  while (!shared.up) await new Promise((resolve) => setTimeout(resolve, 10));
  const stores: Array<[string, Limiter]> = [
    ['memory', new MemoryLimiter(limits)],
    ['redis', redisLimiter(shared, limits)],
  ];
  const decisions: Record<string, number[]> = { memory: [], redis: [] };
  for (let round = 0; round < 2000; round++) {
    for (const [name, limiter] of stores) {
      const start = performance.now();
      const admitted = await limiter.admit(`key-${round % 50}`);
      decisions[name].push(performance.now() - start);
      if ('release' in admitted) admitted.release();
    }
  }
  console.log('limiter decision (admit + release, 2,000 each, interleaved):');
  for (const name of ['memory', 'redis']) console.log(`  ${name.padEnd(7)} p50 ${ms(percentile(decisions[name], 50))}  p95 ${ms(percentile(decisions[name], 95))}  max ${ms(Math.max(...decisions[name]))}`);
  await stores[1][1].close?.();
  await shared.close();

  const serverOptions = { engine: toneEngine(), keys: [KEY], env: {}, logger: quiet, metrics: false as const, limits: { burst: 1e9, requestsPerSecond: 1e6 } };
  const memoryServer = createServer(serverOptions);
  const redisServer = createServer({ ...serverOptions, engine: toneEngine(), redis: { url: redis.url } });
  const m = await memoryServer.listen({ port: 0 });
  const r = await redisServer.listen({ port: 0 });
  const body = { text: 'Short.', model: 'aura-lite', format: 'pcm' };
  const firsts: Record<string, number[]> = { memory: [], redis: [] };
  for (let i = 0; i < 50; i++) await Promise.all([ttfb(m.url, body), ttfb(r.url, body)]);
  for (let i = 0; i < 400; i++) {
    firsts.memory.push((await ttfb(m.url, body)).firstByteMs);
    firsts.redis.push((await ttfb(r.url, body)).firstByteMs);
  }
  const added = percentile(firsts.redis, 50) - percentile(firsts.memory, 50);
  console.log('TTFB with the limiter in memory vs in Redis (tone engine, 400 requests each, interleaved, keep-alive):');
  for (const name of ['memory', 'redis']) console.log(`  ${name.padEnd(7)} p50 ${ms(percentile(firsts[name], 50))}  p95 ${ms(percentile(firsts[name], 95))}  max ${ms(Math.max(...firsts[name]))}`);
  console.log(`  Redis adds ${ms(added)} at p50 (target ≤ 1 ms)`);
  await m.close();
  await r.close();
}

// 2. The audio cache: a hit against a miss, with the espeak engine.
if (parts.includes('2')) {
  const engine = await createEspeakEngine({ workers: 1 });
  const server = createServer({ engine, keys: [KEY], env: {}, logger: quiet, limits: { burst: 1e9, requestsPerSecond: 1e6 }, cache: { maxBytes: 64 << 20 } });
  const { url, close } = await server.listen({ port: 0 });
  const misses: number[] = [];
  const hits: number[] = [];
  for (const format of ['pcm', 'mp3']) {
    const asked = (i: number) => ({ text: `Sentence number ${i} for the cache, in ${format}.`, model: 'aura-lite', format });
    for (let i = 0; i < 60; i++) misses.push((await ttfb(url, asked(i))).firstByteMs);
    const started = engine.stats().started;
    for (let round = 0; round < 5; round++) for (let i = 0; i < 60; i++) hits.push((await ttfb(url, asked(i))).firstByteMs);
    if (engine.stats().started !== started) console.log(`  (!) the engine started ${engine.stats().started - started} streams for hits`);
  }
  console.log('audio cache, espeak engine, pcm and mp3 (120 misses, 600 hits):');
  console.log(`  miss  p50 ${ms(percentile(misses, 50))}  p95 ${ms(percentile(misses, 95))}`);
  console.log(`  hit   p50 ${ms(percentile(hits, 50))}  p95 ${ms(percentile(hits, 95))}  max ${ms(Math.max(...hits))} (target ≤ 5 ms p50; engine streams started for hits: ${engine.stats().started - 120})`);
  await close();
  await engine.close();
}

// 3. Two servers on one Redis against one server with twice the server-wide cap: the same load, the same answers.
if (parts.includes('3')) {
  const KEYS = ['bench-a-0123456789', 'bench-b-0123456789', 'bench-c-0123456789', 'bench-d-0123456789'];
  const perKey = 4;
  const limits = { burst: 10, requestsPerSecond: 10, concurrentStreamsPerKey: perKey, maxConcurrentStreams: 12 };
  const base = { keys: KEYS, env: {}, logger: quiet, metrics: false as const };
  /** A tone engine whose streams give their first chunk, then hold until cancelled: a stream stays open on the server while its client holds it. */
  const holding = () => {
    const tone = toneEngine();
    return {
      ...tone,
      synthesize(request: Parameters<typeof tone.synthesize>[0]) {
        const reader = tone.synthesize(request).getReader();
        let given = false;
        return new ReadableStream({
          async pull(controller) {
            if (given) return new Promise<void>(() => {});
            given = true;
            const { value } = await reader.read();
            controller.enqueue(value!);
          },
          cancel: (reason) => reader.cancel(reason),
        });
      },
    };
  };
  const post = (url: string, key: string, text: string) => fetch(`${url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': key }, body: JSON.stringify({ text, model: 'aura-lite' }) });
  async function run(servers: ReturnType<typeof createServer>[], urls: string[]) {
    // Streams: 10 waves; in each, every key asks for twice its limit at once, spread over the servers, and holds what it gets.
    const admittedPerWave: number[] = [];
    let streamsServed = 0;
    const streamStart = performance.now();
    for (let wave = 0; wave < 10; wave++) {
      const answers = await Promise.all(KEYS.flatMap((key, k) => Array.from({ length: 2 * perKey }, (_, i) => post(urls[(k + i) % urls.length], key, `Wave ${wave}, stream ${i}.`).then((res) => ({ key, res })))));
      for (const key of KEYS) admittedPerWave.push(answers.filter((a) => a.key === key && a.res.status === 200).length);
      streamsServed += answers.filter((a) => a.res.status === 200).length;
      await Promise.all(answers.map(({ res }) => (res.status === 200 ? res.body!.cancel() : res.arrayBuffer())));
      const deadline = performance.now() + 10_000;
      while (servers.some((s) => s.openStreams > 0) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      if (servers.some((s) => s.openStreams > 0)) console.log(`  (!) wave ${wave}: streams still open 10 s after their clients cancelled: ${servers.map((s) => s.openStreams).join(', ')}`);
      // 0.5 s between waves: the 4 tokens a key spent are back (10/s), so only the stream limit decides.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const streamMs = performance.now() - streamStart;
    // Rate: every key asks for 40 browser tokens (rate-limited like streams, no stream slot) at 20 a second, twice its rate, spread over the servers.
    await new Promise((resolve) => setTimeout(resolve, 1200)); // buckets full again
    const rateStart = performance.now();
    const servedPerKey = new Map<string, number>(KEYS.map((k) => [k, 0]));
    await Promise.all(
      KEYS.map(async (key, k) => {
        const pending: Promise<void>[] = [];
        for (let i = 0; i < 40; i++) {
          pending.push(
            fetch(`${urls[(k + i) % urls.length]}/v1/tokens`, { method: 'POST', headers: { 'X-API-Key': key }, body: JSON.stringify({ origin: 'https://app.example' }) }).then(async (res) => {
              if (res.status === 200) servedPerKey.set(key, servedPerKey.get(key)! + 1);
              await res.arrayBuffer();
            }),
          );
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await Promise.all(pending);
      }),
    );
    const rateS = (performance.now() - rateStart) / 1000;
    return { admittedPerWave, streamsServed, streamMs, servedPerKey: [...servedPerKey.values()], bound: Math.floor(limits.burst + limits.requestsPerSecond * rateS), rateS };
  }
  const one = createServer({ ...base, engine: holding(), limits: { ...limits, maxConcurrentStreams: 2 * limits.maxConcurrentStreams } });
  const oneUrl = (await one.listen({ port: 0 })).url;
  const pair = [0, 1].map(() => createServer({ ...base, engine: holding(), limits, redis: { url: redis.url } }));
  const pairUrls = await Promise.all(pair.map(async (s) => (await s.listen({ port: 0 })).url));
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(`two servers sharing one Redis vs one server with twice the server-wide cap (4 keys, ${perKey} streams and 10/s burst 10 each; tone engine):`);
  for (const [name, servers, urls] of [['one server, 2× cap', [one], [oneUrl]], ['two servers, Redis', pair, pairUrls]] as const) {
    const r = await run([...servers], [...urls]);
    console.log(
      `  ${name.padEnd(19)} streams: ${r.streamsServed} of ${10 * KEYS.length * 2 * perKey} served in ${Math.round(r.streamMs)} ms, per key and wave ${Math.min(...r.admittedPerWave)}–${Math.max(...r.admittedPerWave)} (limit ${perKey}); ` +
        `rate: tokens per key ${r.servedPerKey.join(', ')} of 40 in ${r.rateS.toFixed(1)} s (bound ${r.bound})`,
    );
  }
  await one.close();
  await Promise.all(pair.map((s) => s.close()));
}

await redis.stop();
