// speak() against the real reference server and the embedded espeak engine:
// the output is sample-identical to each sentence synthesized alone, in order
// even when later sentences finish first, and aborting leaves no request open
// (the server and the engine both see the streams end).
// That sentences() gives the same sentences for any split of the text into
// tokens (1-character pieces included) is shown by fast-check in
// packages/core/src/text/sentences.test.ts ("gives the same sentences as
// splitSentences for any split of the text"); here the same splits go
// through the whole speak() path.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../packages/codecs/src/index.js';
import { collect, fromIterable, pcmDecode, pipeline, speak, splitSentences, text, ttsSource, type FetchLike, type Run, type SpeakOptions } from '../packages/core/src/index.js';
import type { EspeakEngine } from '../packages/engine-espeak/src/index.js';
import type { ListeningServer, VoxpipeServer } from '../packages/server/src/index.js';
import { eventually, limitFor, RUN_MS, SETTLE, START_MS } from './support/budgets.js';
import { startRoomyServer, type TestServer } from './support/tts-server.js';
import { play } from '../packages/node/src/index.js';
import { execFileSync } from 'node:child_process';

const KEY = 'speak-test-key';
const hasAplay = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v aplay'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const VOICE = { voice: 'Peter', language: 'en-US' };
const ANSWER = 'Hello there. The weather today is mild, with a light breeze from the west. Take a coat! Anything else?';

let testServer: TestServer;
let engine: EspeakEngine;
let server: VoxpipeServer;
let listening: ListeningServer;
const alone = new Map<string, Float32Array>();

const options = (more: Partial<SpeakOptions> = {}): SpeakOptions => ({ baseUrl: listening.url, apiKey: KEY, ...VOICE, model: 'aura-lite', maxWaitMs: 0, ...more });

/** One sentence synthesized by itself, the plain way. */
async function sayAlone(sentence: string, format: 'pcm' | 'mp3' = 'pcm'): Promise<Float32Array> {
  const key = `${format}:${sentence}`;
  if (!alone.has(key)) {
    const model = format === 'pcm' ? 'aura-lite' : 'rapid-flash';
    const source = ttsSource({ baseUrl: listening.url, apiKey: KEY, text: sentence, ...VOICE, model, format });
    const { value } = await pipeline(source, format === 'pcm' ? pcmDecode() : decode(), collect()).done;
    alone.set(key, value!.pcm!.channels[0]);
  }
  return alone.get(key)!;
}

async function concatAlone(input: string, format: 'pcm' | 'mp3' = 'pcm'): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const sentence of splitSentences(input)) parts.push(await sayAlone(sentence, format));
  return Float32Array.from(parts.flatMap((p) => [...p]));
}

function tokensOf(input: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let start = 0;
  for (const point of [...points, input.length]) {
    if (point > start) out.push(input.slice(start, point));
    start = point;
  }
  return out;
}

beforeAll(async () => {
  testServer = await startRoomyServer(KEY);
  ({ engine, server, listening } = testServer);
}, limitFor(START_MS));

afterAll(() => testServer?.close());

describe('speak() with the real server', () => {
  it('gives the same samples as each sentence synthesized alone, joined, for any token split and concurrency', async () => {
    const expected = await concatAlone(ANSWER);
    expect(expected.length).toBeGreaterThan(24000);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), async (cuts, single, concurrency) => {
        const tokens = single ? [...ANSWER] : tokensOf(ANSWER, cuts);
        const run = pipeline(fromIterable(tokens, { format: text }), speak(options({ concurrency })), collect());
        const said: string[] = [];
        run.events.on('sentence', (e) => said.push(e.detail.text));
        const { value } = await run.done;
        expect(said).toEqual(splitSentences(ANSWER));
        expect(value!.pcm!.sampleRate).toBe(24000);
        expect(value!.pcm!.channels[0]).toEqual(expected);
      }),
      { numRuns: 5 },
    );
  }, limitFor((1 + 5) * RUN_MS)); // the sentences said alone, then five speak() runs

  it('keeps sentence order with concurrency 2 when a later sentence finishes first', async () => {
    const long = `This first sentence is a long one, ${'and it goes on, '.repeat(8)}until it finally stops.`;
    const input = `${long} Yes. No.`;
    const finished: string[] = [];
    // The case this test is for, made certain rather than left to the engine's speed: the first
    // sentence's body is held open at its end until "Yes." has been read to its end.
    let yesRead!: () => void;
    const yes = new Promise<void>((resolve) => (yesRead = resolve));
    /** Records when each response body has been read to its end. */
    const recording: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      const sentence = (JSON.parse(String(init.body)) as { text: string }).text;
      const body = response.body!.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          async flush() {
            if (sentence === long) {
              let timer: ReturnType<typeof setTimeout> | undefined;
              const never = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('"Yes." was never read to its end while the first sentence was held: speak() did not fetch ahead')), RUN_MS)));
              await Promise.race([yes, never]).finally(() => clearTimeout(timer));
            }
            finished.push(sentence);
            if (sentence === 'Yes.') yesRead();
          },
        }),
      );
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const { value } = await pipeline(fromIterable([input], { format: text }), speak(options({ concurrency: 2, fetch: recording })), collect()).done;
    expect(finished.indexOf('Yes.')).toBeLessThan(finished.indexOf(long));
    expect(value!.pcm!.channels[0]).toEqual(await concatAlone(input));
  }, limitFor(4 * RUN_MS)); // the speak() run and three sentences said alone

  it('speaks mp3 through a codecs decoder the same as each sentence decoded alone', async () => {
    const input = 'Mp3 works too. It is decoded per sentence.';
    const run = pipeline(fromIterable([input], { format: text }), speak(options({ model: 'rapid-flash', format: 'mp3', decoder: decode() })), collect());
    const { value } = await run.done;
    expect(value!.pcm!.channels[0]).toEqual(await concatAlone(input, 'mp3'));
  }, limitFor(3 * RUN_MS));

  it('aborting part-way ends every request: the server and the engine see their streams end', async () => {
    const cancelledBefore = engine.stats().cancelled;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 3 }), async (afterChunks, concurrency) => {
        const before = engine.stats();
        const sentences = Array.from({ length: 6 }, (_, i) => `Sentence number ${i + 1} is here, and it is not very short at all.`).join(' ');
        async function* llm() {
          for (const token of sentences.split(/(?<= )/)) {
            await new Promise((r) => setTimeout(r, 1));
            yield token;
          }
        }
        let chunks = 0;
        let run!: Run<number>;
        const counting = {
          role: 'sink' as const,
          name: 'counting',
          takes: { kind: 'pcm' as const },
          open: () => ({
            sink: {
              write() {
                if (++chunks > afterChunks) run.abort();
              },
            },
            result: () => chunks,
          }),
        };
        run = pipeline(fromIterable(llm(), { format: text }), speak(options({ concurrency, maxWaitMs: 500 })), counting);
        const { outcome } = await run.done;
        expect(outcome).toBe('aborted');
        expect(await eventually(() => server.openStreams === 0 && engine.stats().active === 0)).toBe(true);
        const after = engine.stats();
        expect(after.completed + after.cancelled + after.failed - (before.completed + before.cancelled + before.failed)).toBe(after.started - before.started);
      }),
      { numRuns: 6 },
    );
    // Requests were cut part-way, not merely left to finish.
    expect(engine.stats().cancelled).toBeGreaterThan(cancelledBefore);
  }, limitFor(6 * (RUN_MS + SETTLE.timeout))); // six aborted runs, each waiting for the server to settle
  it.runIf(hasAplay)('with timestamps, play() stopped at a random moment reports heard text that is a prefix of the whole Markdown answer, ending at a word', async () => {
    const answer = '## Today\n\nThe weather is **mild**, see [the forecast](https://weather.example.com/today). Take a coat! Anything else?';
    const ends = new Set<number>([0]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 300, max: 5000 }), async (cuts, stopAfterMs) => {
        const sink = play({ player: 'aplay', args: ['-D', 'null'], bufferMs: 0 });
        const run = pipeline(fromIterable(tokensOf(answer, cuts), { format: text }), speak(options({ timestamps: true })), sink);
        const words: string[] = [];
        run.events.on('word', (e) => {
          words.push(e.detail.text);
          ends.add(e.detail.charEnd);
          // Each word quotes the answer as written.
          expect(answer.slice(e.detail.charStart, e.detail.charEnd)).toBe(e.detail.text);
        });
        await new Promise((resolve) => setTimeout(resolve, stopAfterMs));
        const heard = await run.control(sink)!.stop();
        const { outcome, value } = await run.done;
        const final = outcome === 'completed' ? value!.heard : heard;
        const why = `stop after ${stopAfterMs} ms: ${JSON.stringify(final)}`;
        expect(answer.startsWith(final.text), why).toBe(true);
        expect(final.text, why).toBe(answer.slice(0, final.charEnd));
        expect(ends.has(final.charEnd), why).toBe(true);
        expect(final.words, why).toBeLessThanOrEqual(words.length);
      }),
      { numRuns: 4 },
    );
    // Played to the end: every sentence's words were heard, up to the last word as written.
    const run = pipeline(fromIterable([answer], { format: text }), speak(options({ timestamps: true })), play({ player: 'aplay', args: ['-D', 'null'], bufferMs: 0 }));
    const { value } = await run.done;
    expect(value!.heard.text).toBe(answer.slice(0, answer.lastIndexOf('else') + 'else'.length));
  }, limitFor(5 * RUN_MS));
});
