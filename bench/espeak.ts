// The embedded espeak engine: pool start-up, time to first audio once warm,
// speed (× real time) for one stream and for many, and how responsive the
// main event loop stays under load. The reference is espeak called directly
// on the main thread (no pool, no messages), this package's WebAssembly build
// beside the wasm2js build it replaced. Run: npx tsx bench/espeak.ts
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createEspeakEngine, type EspeakEngine } from '../packages/engine-espeak/src/index.js';

const SENTENCE =
  'The quick brown fox jumps over the lazy dog, and then it runs away into the forest where nobody can find it again. ' +
  'Meanwhile the farmer counts his chickens one by one, wondering whether the fox will ever come back to the farm. ';
const LONG = SENTENCE.repeat(8); // ≈ 1.8k characters, ≈ 1.5 minutes of speech

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const f = (x: number, digits = 1) => x.toFixed(digits);

async function firstAudioMs(engine: EspeakEngine, text: string): Promise<number> {
  const start = performance.now();
  const reader = engine.synthesize({ text, voice: 'en-us+f3' }).getReader();
  await reader.read();
  const ms = performance.now() - start;
  await reader.cancel();
  return ms;
}

async function drain(engine: EspeakEngine, text: string): Promise<number> {
  let frames = 0;
  for await (const chunk of engine.synthesize({ text, voice: 'en-us' })) frames += chunk.channels[0].length;
  return frames / engine.sampleRate;
}

// 1. Direct espeak on this thread, for reference: this package's WebAssembly build, and the
// wasm2js build it replaced (@echogarden/espeak-ng-emscripten 0.3.5: the same eSpeak NG code and
// flags, at 22050 Hz where this build speaks at 24 kHz) as the peer, each from a fresh module in
// this process; speed is seconds of audio per second, so the rates do not favour either.
const BUILDS = [
  ['this build (wasm)', new URL('../packages/engine-espeak/espeak-ng/espeak-ng.js', import.meta.url).href],
  ['peer: @echogarden/espeak-ng-emscripten 0.3.5 (wasm2js)', import.meta.resolve('@echogarden/espeak-ng-emscripten')],
] as const;
const speeds: number[] = [];
for (const [name, url] of BUILDS) {
  const t0 = performance.now();
  const module = await ((await import(url)).default as () => Promise<any>)(); // eslint-disable-line @typescript-eslint/no-explicit-any
  const espeak = new module.eSpeakNGWorker();
  espeak.set_voice('en-us');
  const loadMs = performance.now() - t0;
  const readyStart = performance.now();
  espeak.synthesize('Ready.', () => false);
  const readyMs = performance.now() - readyStart;
  const firsts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    let first = 0;
    espeak.synthesize('Hello world.', () => {
      if (!first) first = performance.now() - start;
      return true;
    });
    firsts.push(first);
  }
  // Rounds of the long text: the first rounds include V8's optimizing; the median and worst of the last five are steady state.
  const rounds: number[] = [];
  for (let round = 0; round < 8; round++) {
    let frames = 0;
    const start = performance.now();
    for (const part of LONG.match(/[^.]+\./g)!) {
      espeak.synthesize(part, (pcm: Int16Array | undefined) => {
        frames += pcm?.length ?? 0;
        return false;
      });
    }
    rounds.push(frames / espeak.get_samplerate() / ((performance.now() - start) / 1000));
  }
  const steady = rounds.slice(-5);
  speeds.push(median(steady));
  console.log(
    `direct espeak, ${name} (main thread): load ${f(loadMs, 0)} ms, first call ${f(readyMs, 0)} ms, first audio ${f(median(firsts), 2)} ms (median of 20); ` +
      `${f(rounds[0], 0)}× real time in the first round, then median ${f(median(steady), 0)}×, slowest ${f(Math.min(...steady), 0)}× (last 5 of 8 rounds)`,
  );
}
console.log(`direct espeak: this build is ${f(speeds[0] / speeds[1], 2)}× the peer's speed (steady-state medians)`);

// 2. Pool start-up.
const startups: number[] = [];
for (let i = 0; i < 3; i++) {
  const engine = await createEspeakEngine({ workers: 2 });
  startups.push(engine.startupMs);
  if (i === 2) console.log(`pool start-up, 2 workers: ${startups.map((x) => f(x, 0)).join(' / ')} ms; per worker load ${engine.workerStartups.map((w) => f(w.loadMs, 0)).join(', ')} ms, warm-up ${engine.workerStartups.map((w) => f(w.warmMs, 0)).join(', ')} ms`);
  await engine.close();
}

const rssBefore = process.memoryUsage().rss;
const engine = await createEspeakEngine({ workers: 2 });
console.log(`memory: process RSS grew ${f((process.memoryUsage().rss - rssBefore) / 2 ** 20, 0)} MB for 2 workers`);
try {
  // 3. Time to first audio, warm: with idle workers, then back to back
  // (each request cancelled after its first chunk, so workers are still
  // stopping and restoring when the next one arrives).
  for (const gapMs of [20, 0]) {
    const firsts: number[] = [];
    for (let i = 0; i < 30; i++) {
      firsts.push(await firstAudioMs(engine, i % 2 ? 'Hello world.' : SENTENCE));
      if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const label = gapMs ? 'idle workers' : 'back to back';
    console.log(`first audio, warm, ${label} (synthesize() → first chunk in hand): median ${f(median(firsts), 2)} ms, p90 ${f(pct(firsts, 0.9), 2)} ms (30 requests)`);
  }

  // 4. One stream read as fast as possible.
  const singles: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const seconds = await drain(engine, LONG);
    singles.push(seconds / ((performance.now() - start) / 1000));
  }
  console.log(`one stream (${LONG.length} chars, segmented): ${f(median(singles), 0)}× real time (median of 3)`);

  // 5. Many streams on 2 workers, with the main event loop watched.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const start = performance.now();
  const all = await Promise.all(Array.from({ length: 8 }, () => drain(engine, SENTENCE.repeat(3))));
  const wall = (performance.now() - start) / 1000;
  delay.disable();
  const audio = all.reduce((a, b) => a + b, 0);
  console.log(
    `8 parallel streams on 2 workers: ${f(audio, 0)} s of audio in ${f(wall, 2)} s = ${f(audio / wall, 0)}× real time in total; ` +
      `main event-loop delay p99 ${f(delay.percentile(99) / 1e6, 1)} ms, max ${f(delay.max / 1e6, 1)} ms`,
  );
  console.log('stats', JSON.stringify(engine.stats()));
} finally {
  await engine.close();
}
