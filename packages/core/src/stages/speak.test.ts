// speak() against a fake /v1/tts/stream (a fetch double whose audio is a
// function of the text): order, bounded prefetch, pauses, abort, bad input.
// The same properties against the real server and engine: test/speak.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '../errors.js';
import { text } from '../format.js';
import { pipeline } from '../index.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { fromIterable } from '../sources/from-iterable.js';
import { ReadableStream } from '../streams.js';
import { settleTurns, testContext } from '../testing/harness.js';
import { splitSentences } from '../text/sentences.js';
import { speak, type SpeakOptions } from './speak.js';

const RATE = 24000;
const SAMPLES_PER_CHAR = 40;

/** The samples the fake service says `sentence` with: a different level per character. */
function voiceOf(sentence: string): Int16Array {
  const out = new Int16Array(sentence.length * SAMPLES_PER_CHAR);
  for (let i = 0; i < out.length; i++) out[i] = ((sentence.charCodeAt(Math.floor(i / SAMPLES_PER_CHAR)) * 97 + i) % 2000) - 1000;
  return out;
}

function expectedPcm(sentences: string[]): Float32Array {
  const all = sentences.flatMap((s) => [...voiceOf(s)]);
  return Float32Array.from(all, (x) => x / 32768);
}

interface Call {
  text: string;
  signal: AbortSignal;
  finished: boolean;
  cancelled: boolean;
}

/** A fetch that answers like the server's PCM: s16le bytes in odd-sized pieces, after `delayMs(text)`. */
function fakeService(delayMs: (text: string, call: number) => number = () => 0) {
  const calls: Call[] = [];
  let open = 0;
  let maxOpen = 0;
  const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
    const { text: sentence } = JSON.parse(String(init.body)) as { text: string };
    const call: Call = { text: sentence, signal: init.signal!, finished: false, cancelled: false };
    calls.push(call);
    open++;
    maxOpen = Math.max(maxOpen, open);
    const close = () => {
      if (!call.finished) open--;
      call.finished = true;
    };
    init.signal!.addEventListener('abort', () => close(), { once: true });
    const bytes = new Uint8Array(voiceOf(sentence).buffer);
    let offset = 0;
    const delay = delayMs(sentence, calls.length - 1);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (offset === 0 && delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (init.signal!.aborted) return controller.error(init.signal!.reason);
        if (offset >= bytes.byteLength) {
          close();
          return controller.close();
        }
        const end = Math.min(bytes.byteLength, offset + 301);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
      cancel() {
        call.cancelled = true;
        close();
      },
    });
    return new Response(body as unknown as BodyInit, { status: 200, headers: { 'Content-Type': 'audio/pcm', 'X-Sample-Rate': String(RATE), 'X-Channels': '1' } });
  };
  return { fetch, calls, open: () => open, maxOpen: () => maxOpen };
}

const base = (fetch: SpeakOptions['fetch'], more: Partial<SpeakOptions> = {}): SpeakOptions => ({
  baseUrl: 'http://tts.test',
  apiKey: 'k',
  model: 'aura-lite',
  fetch,
  maxWaitMs: 0,
  reconnect: false,
  ...more,
});

/** Text cut into tokens at the given points. */
function tokens(input: string, points: number[]): string[] {
  const cuts = [...new Set(points.map((p) => p % (input.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(input.slice(start, cut));
    start = cut;
  }
  return out.filter((t) => t.length > 0);
}

const WORDS = ['Hello', 'there', 'cat', 'Mr.', 'Smith', 'is', 'here', 'e.g.', 'ok', '3.5', 'yes', 'no'];
const arbitraryText = fc
  .array(fc.tuple(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 6 }), fc.constantFrom('.', '!', '?')), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.map(([words, stop]) => words.join(' ') + stop).join(' '));

/** A fetch that answers /v1/tts/stream/with-timestamps: each word of the request on its characters' samples, then the audio. */
function fakeTimestampedService() {
  const sent: string[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    expect(url).toMatch(/\/v1\/tts\/stream\/with-timestamps$/);
    const { text: said } = JSON.parse(String(init.body)) as { text: string };
    sent.push(said);
    const seconds = (chars: number) => (chars * SAMPLES_PER_CHAR) / RATE;
    const words = [...said.matchAll(/\S+/g)].map((m) => ({ text: m[0], start: seconds(m.index), end: seconds(m.index + m[0].length), charStart: m.index, charEnd: m.index + m[0].length }));
    const audio = Buffer.from(new Uint8Array(voiceOf(said).buffer)).toString('base64');
    const body = `${JSON.stringify({ words })}\n${JSON.stringify({ audio })}\n`;
    return new Response(body, { status: 200, headers: { 'Content-Type': 'application/x-ndjson', 'X-Audio-Content-Type': 'audio/pcm', 'X-Sample-Rate': String(RATE) } });
  };
  return { fetch, sent };
}

describe('speak', () => {
  it('says Markdown as prose and puts each word on the whole answer as written, across sentences and token splits', async () => {
    const answer = '# Plan\n\nFirst, **read** [the guide](https://docs.example.com/a).\n```sh\nrm -rf /\n```\nThen mail jane@example.org 👍 today!';
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (points) => {
        const service = fakeTimestampedService();
        const run = pipeline(fromIterable(tokens(answer, points), { format: text }), speak(base(service.fetch, { timestamps: true })), collect());
        const { value } = await run.done;
        expect(service.sent).toEqual(['Plan', 'First, read the guide.', 'Then mail jane at example dot org today!']);
        const marks: Array<{ text: string; charStart: number; charEnd: number; at: number }> = [];
        let offset = 0;
        for (const chunk of value!.chunks as PcmChunk[]) {
          for (const mark of chunk.marks ?? []) {
            // The answer as far as it had come: up to the word at least.
            expect(answer.startsWith(mark.written!)).toBe(true);
            expect(mark.written!.length).toBeGreaterThanOrEqual(mark.charEnd);
            marks.push({ text: mark.text, charStart: mark.charStart, charEnd: mark.charEnd, at: offset + mark.frame });
          }
          offset += chunk.channels[0].length;
        }
        // Each mark quotes the answer itself: a spoken word spans what it was said for
        // ("guide." the link's target too); "jane at example dot org" is one word, the address.
        expect(marks.map((m) => m.text)).toEqual(['Plan', 'First,', 'read', 'the', 'guide](https://docs.example.com/a).', 'Then', 'mail', 'jane@example.org', 'today!']);
        for (const m of marks) expect(answer.slice(m.charStart, m.charEnd)).toBe(m.text);
        for (let i = 1; i < marks.length; i++) {
          expect(marks[i].charStart).toBeGreaterThanOrEqual(marks[i - 1].charEnd);
          expect(marks[i].at).toBeGreaterThan(marks[i - 1].at);
        }
      }),
      { numRuns: 20 },
    );
  });


  it('gives each sentence’s audio in order, for any token split, concurrency and completion order', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryText,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 8, maxLength: 8 }),
        async (input, points, concurrency, delays) => {
          // Later sentences often answer first: the delay falls with the call number.
          const service = fakeService((_t, call) => delays[call % delays.length] + Math.max(0, 6 - call * 2));
          const run = pipeline(fromIterable(tokens(input, points), { format: text }), speak(base(service.fetch, { concurrency })), collect());
          const said: string[] = [];
          run.events.on('sentence', (e) => said.push(e.detail.text));
          const { value } = await run.done;
          const expected = splitSentences(input);
          expect(said).toEqual(expected);
          expect(service.calls.map((c) => c.text)).toEqual(expected);
          expect(value!.pcm!.sampleRate).toBe(RATE);
          expect(value!.pcm!.channels[0]).toEqual(expectedPcm(expected));
          expect(service.maxOpen()).toBeLessThanOrEqual(concurrency);
          expect(service.open()).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('puts sentencePauseMs of silence between sentences, and none before the first or after the last', async () => {
    const service = fakeService();
    const input = 'One. Two two. Three.';
    const { value } = await pipeline(fromIterable([input], { format: text }), speak(base(service.fetch, { sentencePauseMs: 50 })), collect()).done;
    const gap = new Float32Array((50 * RATE) / 1000);
    const parts = splitSentences(input).map((s) => ({ sampleRate: RATE, channels: [expectedPcm([s])] }) as PcmChunk);
    const expected = concatPcm([parts[0], { sampleRate: RATE, channels: [gap] }, parts[1], { sampleRate: RATE, channels: [gap] }, parts[2]]);
    expect(value!.pcm!.channels[0]).toEqual(expected.channels[0]);
  });

  it('starts no more requests than `concurrency` while nobody reads, and holds the text back', async () => {
    const service = fakeService();
    const ctx = testContext('speak');
    const stream = speak(base(service.fetch, { concurrency: 2 })).create(ctx, text);
    const writer = stream.writable.getWriter();
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      const write = writer.write(`Sentence number ${i} is here. `).then(() => true, () => false);
      if (!(await Promise.race([write, settleTurns(20).then(() => false)]))) break;
      accepted++;
    }
    expect(service.calls.length).toBe(2);
    expect(accepted).toBeLessThan(10);
    await stream.readable.cancel();
    await settleTurns(5);
    expect(service.calls.every((c) => c.signal.aborted)).toBe(true);
    expect(service.open()).toBe(0);
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
  });

  it('aborting the run mid-sentence aborts every request in flight and leaves nothing pending', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 3 }), async (afterTurns, concurrency) => {
        const service = fakeService(() => 1);
        const words = 'This is a long first sentence for the test. A second one follows it. And a third. And a fourth one here.';
        async function* slow() {
          for (const word of words.split(/(?<= )/)) {
            await new Promise((r) => setTimeout(r, 0));
            yield word;
          }
        }
        const run = pipeline(fromIterable(slow(), { format: text }), speak(base(service.fetch, { concurrency, maxWaitMs: 5 })), collect());
        await settleTurns(afterTurns);
        run.abort();
        const { outcome } = await run.done;
        await settleTurns(3);
        if (outcome === 'aborted') expect(service.calls.every((c) => c.signal.aborted || c.finished)).toBe(true);
        expect(service.open()).toBe(0);
      }),
      { numRuns: 12 },
    );
  });

  it('fails with typed errors: bad options, a decoder that cannot take the format, a non-string token, a refused key', async () => {
    expect(() => speak({ baseUrl: 'not a url' })).toThrow(VoxpipeError);
    expect(() => speak({ baseUrl: 'http://x', concurrency: 0 })).toThrow(/speak.*concurrency/);
    expect(() => speak({ baseUrl: 'http://x', format: 'mp3' })).toThrow(/decoder/);

    const service = fakeService();
    const bad = pipeline(fromIterable([42 as unknown as string], { format: text }), speak(base(service.fetch)), collect());
    await expect(bad.done).rejects.toMatchObject({ code: 'format' });

    const refusing = async () => new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'bad key' } }), { status: 401, headers: { 'Content-Type': 'application/json' } });
    const refused = pipeline(fromIterable(['Hello there. Again.'], { format: text }), speak(base(refusing)), collect());
    await expect(refused.done).rejects.toMatchObject({ code: 'auth' });
  });

  it('round-trips its options as a spec (without the fetch)', () => {
    const stage = speak(base(fakeService().fetch, { voice: 'Anna', concurrency: 3 }));
    expect(stage.spec).toMatchObject({ stage: 'speak', options: { baseUrl: 'http://tts.test', voice: 'Anna', concurrency: 3, format: 'pcm' } });
    expect(JSON.parse(JSON.stringify(stage.spec)).options.fetch).toBeUndefined();
    expect(speak(stage.spec!.options as SpeakOptions).spec).toEqual(stage.spec);
  });
});
