// Client latency: ttsSource → decode → resample(48 kHz) → collect against a
// local server that sends the first piece of the body (one 20 ms PCM chunk,
// or exactly the first complete MP3 frame(s)), waits, then sends the rest.
// Measures what the client adds between the first byte arriving and the
// first PCM reaching the sink. Run: npx tsx bench/client.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collect, pipeline, reconnect, ttsSource, type AnyStage, type PcmChunk, type SinkStage, type TransformStage } from '../packages/core/src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const PAUSE_MS = 40;

async function optional<T>(load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch {
    return undefined;
  }
}

const codecs = await optional(() => import('../packages/codecs/src/index.js'));
const fixtures = await optional(() => import('../packages/codecs/src/testing/fixtures.js'));
const resampleModule = await optional(() => import('../packages/core/src/stages/resample.js'));
if (!codecs?.decode) {
  console.log('client: skipped (decode() from @voxpipe/codecs is not available)');
  process.exit(0);
}
const decode = codecs.decode;
const resample = resampleModule?.resample;
if (!resample) console.log('note: resample() not available; measuring ttsSource → decode → collect');

/** A server that sends `first`, pauses, then sends `rest`. */
async function serve(first: Uint8Array, rest: Uint8Array, contentType: string, headers: Record<string, string> = {}) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': contentType, ...headers });
      res.write(first);
      const timer = setTimeout(() => res.end(rest), PAUSE_MS);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A sink that notes when the first PCM arrives (run clock, ms). */
function firstPcmSink(seen: { ms?: number }): SinkStage<PcmChunk, void> {
  return {
    role: 'sink',
    name: 'firstPcm',
    takes: { kind: 'pcm' },
    open: (ctx) => ({
      sink: {
        write() {
          seen.ms ??= ctx.now();
        },
      },
      result() {},
    }),
  };
}

interface Times {
  /** first byte → first PCM at the sink, µs, sorted */
  sink: number[];
  /** first byte → decode's first PCM (first-audio), µs, sorted */
  decoded: number[];
}

async function measure(url: string, format: 'pcm' | 'mp3', withReconnect: boolean): Promise<Times> {
  const out: number[] = [];
  const decoded: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const seen: { ms?: number } = {};
    const stages: AnyStage[] = [ttsSource({ baseUrl: url, text: 'Hello.', format })];
    if (withReconnect) stages.push(reconnect());
    stages.push(decode() as unknown as TransformStage);
    if (resample) stages.push(resample({ rate: 48000 }) as unknown as TransformStage);
    stages.push(firstPcmSink(seen) as SinkStage<unknown, void>);
    const run = pipeline(...(stages as [AnyStage, ...AnyStage[], SinkStage<unknown, void>]));
    const { metrics } = await run.done;
    if (i < 3) continue; // warm-up
    out.push((seen.ms! - metrics.firstByteMs!) * 1000);
    decoded.push((metrics.firstAudioMs! - metrics.firstByteMs!) * 1000);
  }
  return { sink: out.sort((a, b) => a - b), decoded: decoded.sort((a, b) => a - b) };
}

const stat = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const row = (name: string, { sink, decoded }: Times) =>
  console.log(
    `${name.padEnd(58)} ${stat(sink, 0.5).toFixed(0).padStart(8)} ${stat(sink, 0.9).toFixed(0).padStart(8)} ${sink[0].toFixed(0).padStart(8)} ${stat(decoded, 0.5).toFixed(0).padStart(14)}`,
  );

console.log(`client latency, first byte → first PCM at the sink (µs), ${RUNS} runs each, chain: ttsSource → decode → ${resample ? 'resample 24→48 kHz → ' : ''}sink`);
console.log(`${'case'.padEnd(58)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'decode median'.padStart(14)}`);

// PCM: the first 20 ms chunk, then the rest after a pause
const frames = 24000;
const pcm = new Uint8Array(frames * 2);
const view = new DataView(pcm.buffer);
for (let i = 0; i < frames; i++) view.setInt16(i * 2, Math.round(Math.sin(i / 8) * 12000), true);
const pcmServer = await serve(pcm.subarray(0, 960), pcm.subarray(960), 'audio/pcm', { 'x-sample-rate': '24000' });
const pcmPlain = await measure(pcmServer.url, 'pcm', false);
const pcmWrapped = await measure(pcmServer.url, 'pcm', true);
await pcmServer.close();
row('pcm: first 20 ms chunk', pcmPlain);
row('pcm: first 20 ms chunk, with reconnect()', pcmWrapped);

// MP3: exactly the first complete frame (or two), then the rest after a pause
if (fixtures && codecs.readMpegHeader) {
  const mp3 = await fixtures.encodeMp3(fixtures.sine({ frames: 24000, frequency: 330 }));
  const frameEnds: number[] = [];
  let offset = 0;
  for (let h = codecs.readMpegHeader(mp3, 0); h && h.frameLength > 0 && frameEnds.length < 3; h = codecs.readMpegHeader(mp3, offset)) {
    offset += h.frameLength;
    frameEnds.push(offset);
  }
  for (const k of [1, 2]) {
    if (frameEnds.length < k) break;
    const server = await serve(mp3.subarray(0, frameEnds[k - 1]), mp3.subarray(frameEnds[k - 1]), 'audio/mpeg');
    const times = await measure(server.url, 'mp3', true).catch((error: unknown) => error as Error);
    await server.close();
    if (times instanceof Error) {
      console.log(`mp3: skipped (${times.message})`);
      break;
    }
    const late = times.sink.filter((t) => t > PAUSE_MS * 1000 * 0.5).length;
    row(`mp3: first ${k} complete frame${k > 1 ? 's' : ''} (${frameEnds[k - 1]} B), with reconnect()`, times);
    if (late > 0) console.log(`  note: ${late}/${times.sink.length} runs produced no PCM until the rest arrived (${PAUSE_MS} ms later)`);
  }
} else {
  console.log('mp3: skipped (no MP3 encoder fixture)');
}
console.log('target: ≤ 2000 µs for pcm, and for mp3 after the first complete frame');
