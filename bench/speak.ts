// Time to first audio for an answer streamed from a language model: with
// speak(), speech starts once the first sentence is written and synthesized —
// not after the whole answer. Tokens arrive over ~2 s (a steady simulated
// LLM); the reference server runs in this process with the embedded engine.
// Prints, per case (median of BENCH_RUNS, default 5):
//   streamed     tokens → speak() → first PCM
//   1st sentence the first sentence's text complete + that sentence alone synthesized to first PCM
//   whole        all tokens, then the whole answer synthesized to first PCM (no streaming)
// and the ratios streamed / 1st sentence (≈ 1 is the goal) and streamed / whole.
// Run: npx tsx bench/speak.ts
import { collect, fromIterable, pcmDecode, pipeline, speak, splitSentences, text, ttsSource } from '../packages/core/src/index.js';
import { createServer } from '../packages/server/src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ANSWER =
  'Sure, here is a quick summary. The meeting moved to Thursday at ten, in the large room on the second floor. ' +
  'Anna will present the budget, and Tom has the numbers for the last quarter. Please bring your laptop. ' +
  'If you cannot come, send your notes to Anna by Wednesday evening, and she will share them with everyone.';
const STREAM_MS = 2000;

const apiKey = 'bench-speak';
const server = createServer({ keys: [apiKey], logger: false, env: {}, limits: { requestsPerSecond: 10_000, burst: 10_000 } });
const listening = await server.listen({ port: 0 });
await server.ready();
const voice = { baseUrl: listening.url, apiKey, voice: 'Peter', language: 'en-US', model: 'aura-lite' };

const tokens = ANSWER.match(/\S+\s*/g)!;
const gapMs = STREAM_MS / tokens.length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The answer as a steady token stream lasting ~STREAM_MS. */
async function* llm(): AsyncGenerator<string> {
  for (const token of tokens) {
    await sleep(gapMs);
    yield token;
  }
}

/** Milliseconds from now until `text` synthesized alone gives its first PCM. */
async function firstAudioOf(input: string): Promise<number> {
  const run = pipeline(ttsSource({ ...voice, text: input, format: 'pcm' }), pcmDecode(), collect());
  await run.done;
  return run.metrics.firstAudioMs!;
}

/** When the text of the first sentence is complete in the token stream (ms from its start). */
function firstSentenceWrittenMs(): number {
  const first = splitSentences(ANSWER)[0];
  let written = '';
  for (let i = 0; i < tokens.length; i++) {
    written += tokens[i];
    // The sentence is known complete when the next sentence's first token has come.
    if (written.trim().length > first.length) return (i + 1) * gapMs;
  }
  return tokens.length * gapMs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await firstAudioOf('Warm up.');
const streamed: number[] = [];
const total: number[] = [];
const sentence: number[] = [];
const whole: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const run = pipeline(fromIterable(llm(), { format: text }), speak({ ...voice, maxWaitMs: 1000 }), collect());
  const { metrics } = await run.done;
  streamed.push(metrics.firstAudioMs!);
  total.push(metrics.endMs!);
  sentence.push(firstSentenceWrittenMs() + (await firstAudioOf(splitSentences(ANSWER)[0])));
  whole.push(STREAM_MS + (await firstAudioOf(ANSWER)));
}

const s = median(streamed);
const f = median(sentence);
const w = median(whole);
console.log(`answer: ${ANSWER.length} characters, ${splitSentences(ANSWER).length} sentences, ${tokens.length} tokens over ${STREAM_MS} ms; median of ${RUNS}`);
console.log(`time to first audio, streamed through speak():      ${s.toFixed(0).padStart(6)} ms`);
console.log(`  first sentence written + synthesized alone:       ${f.toFixed(0).padStart(6)} ms   ratio streamed / first sentence = ${(s / f).toFixed(2)}`);
console.log(`  whole answer written, then synthesized:           ${w.toFixed(0).padStart(6)} ms   ratio streamed / whole          = ${(s / w).toFixed(2)}`);
console.log(`whole answer spoken (speak run end):                ${median(total).toFixed(0).padStart(6)} ms`);
await listening.close();
await server.close();
