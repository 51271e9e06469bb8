// @voxpipe/rx against the real reference server and the embedded espeak
// engine: barge-in cuts the current answer within one short fade, the server
// sees its request end, and the next answer follows at once; queue says
// answers whole and in order; run events arrive as an Observable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, fromIterable, pcmDecode, pipeline, speak, splitSentences, text, ttsSource, type RunEvent } from '../packages/core/src/index.js';
import type { EspeakEngine } from '../packages/engine-espeak/src/index.js';
import { audioOnly, bargeIn, Observable, observableSource, queue, runEvents, sayWith, Subject, type Speakable, type UtteranceEvent } from '../packages/rx/src/index.js';
import type { ListeningServer, VoxpipeServer } from '../packages/server/src/index.js';
import { eventually, limitFor, RUN_MS, START_MS } from './support/budgets.js';
import { startRoomyServer, type TestServer } from './support/tts-server.js';

const KEY = 'rx-test-key';
const VOICE = { voice: 'Anna', language: 'en-US', model: 'aura-lite' };
const LONG =
  'Let me tell you about the history of the city, which goes back a very long way, to a small settlement of farmers and fishermen who built their houses of wood and reed on the banks of the slow brown river that still runs through the middle of town. It was founded on a river crossing. Trade made it rich.';
const SECOND = 'Sure, I will stop. What would you like instead?';

let testServer: TestServer;
let engine: EspeakEngine;
let server: VoxpipeServer;
let listening: ListeningServer;

async function sayAlone(input: string): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const sentence of splitSentences(input)) {
    const { value } = await pipeline(ttsSource({ baseUrl: listening.url, apiKey: KEY, text: sentence, ...VOICE, format: 'pcm' }), pcmDecode(), collect()).done;
    parts.push(value!.pcm!.channels[0]);
  }
  return Float32Array.from(parts.flatMap((p) => [...p]));
}

const samplesOf = (events: UtteranceEvent<Speakable>[], id: number) =>
  Float32Array.from(events.flatMap((e) => (e.type === 'audio' && e.id === id ? [...e.chunk.channels[0]] : [])));

beforeAll(async () => {
  testServer = await startRoomyServer(KEY);
  ({ engine, server, listening } = testServer);
}, limitFor(START_MS));

afterAll(() => testServer?.close());

describe('@voxpipe/rx with the real server', () => {
  it('barge-in: the answer fades within one chunk, its request is aborted (the server sees it), the next answer follows whole', async () => {
    let seenInFlight = 0;
    for (const cutAt of [1, 2, 8]) {
      const say = sayWith({ baseUrl: listening.url, apiKey: KEY, ...VOICE, maxWaitMs: 0 });
      const before = engine.stats();
      const turns = new Subject<Speakable>();
      const events: UtteranceEvent<Speakable>[] = [];
      let firstChunks = 0;
      let afterCut = -1; // chunks of the first answer given after the interruption came
      let inFlightAtCut = false; // the engine was still making the first answer's audio
      const done = new Promise<void>((resolve, reject) => {
        turns.pipe(bargeIn(say, { fadeMs: 10 })).subscribe({
          next(e) {
            events.push(e);
            if (e.type === 'audio' && e.id === 0) {
              if (afterCut >= 0) afterCut++;
              if (++firstChunks === cutAt) {
                afterCut = 0;
                inFlightAtCut = engine.stats().active > 0;
                turns.next(SECOND);
                turns.complete();
              }
            }
          },
          error: reject,
          complete: resolve,
        });
      });
      turns.next(LONG);
      await done;

      const cut = events.find((e) => e.type === 'interrupted' && e.id === 0);
      expect(cut).toBeDefined();
      if (cut?.type !== 'interrupted') return;
      // Within one chunk, and no more than the 10 ms fade (240 samples at 24 kHz).
      expect(afterCut).toBeLessThanOrEqual(1);
      expect(cut.playedSamples - cut.interruptedAt).toBeLessThanOrEqual(240);
      const first = samplesOf(events, 0);
      expect(first.length).toBe(cut.playedSamples);
      const whole = await sayAlone(LONG);
      expect(first.length).toBeLessThan(whole.length);
      expect(first.subarray(0, cut.interruptedAt)).toEqual(whole.subarray(0, cut.interruptedAt));
      // Then the next answer, whole and unchanged.
      const order = events.filter((e) => e.type !== 'audio').map((e) => `${e.type}${e.id}`);
      expect(order).toEqual(['start0', 'interrupted0', 'start1', 'end1']);
      expect(samplesOf(events, 1)).toEqual(await sayAlone(SECOND));
      // Nothing stays open; a request still in flight at the cut was ended early, and the engine saw it.
      expect(await eventually(() => server.openStreams === 0 && engine.stats().active === 0)).toBe(true);
      if (inFlightAtCut) {
        seenInFlight++;
        expect(engine.stats().cancelled).toBeGreaterThan(before.cancelled);
      }
    }
    // Cutting at the first chunk of a ~15 s sentence always finds its synthesis under way.
    expect(seenInFlight).toBeGreaterThan(0);
  }, limitFor(3 * 4 * RUN_MS)); // three cuts, each a barge-in run, two answers said alone and a wait to settle

  it('queue says each answer whole, in order; unsubscribing leaves no request open', async () => {
    const say = sayWith({ baseUrl: listening.url, apiKey: KEY, ...VOICE, maxWaitMs: 0 });
    const answers = ['First answer. Two sentences.', 'Second answer.'];
    const turns = new Observable<Speakable>((subscriber) => {
      for (const answer of answers) subscriber.next(answer);
      subscriber.complete();
    });
    const source = observableSource(turns.pipe(queue(say), audioOnly()), { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } });
    const { value } = await pipeline(source, collect()).done;
    const expected = [...(await sayAlone(answers[0])), ...(await sayAlone(answers[1]))];
    expect(value!.pcm!.channels[0]).toEqual(Float32Array.from(expected));

    const endless = new Subject<Speakable>();
    let got = 0;
    const subscription = endless.pipe(queue(say)).subscribe((e) => {
      if (e.type === 'audio' && ++got === 2) subscription.unsubscribe();
    });
    endless.next(LONG);
    expect(await eventually(() => subscription.closed && server.openStreams === 0 && engine.stats().active === 0)).toBe(true);
  }, limitFor(5 * RUN_MS)); // the queue's run, three sentences said alone, the endless queue

  it("gives a speak run's events as an Observable, sentence by sentence, completing at end", async () => {
    const run = pipeline(fromIterable(['One. Two. ', 'Three.'], { format: text }), speak({ baseUrl: listening.url, apiKey: KEY, ...VOICE }), collect());
    const seen: RunEvent[] = [];
    await new Promise<void>((resolve) => runEvents(run).subscribe({ next: (e) => seen.push(e), complete: resolve }));
    expect(seen.filter((e) => e.type === 'sentence').map((e) => (e.detail as { text: string }).text)).toEqual(['One.', 'Two.', 'Three.']);
    expect(seen.at(-1)).toMatchObject({ type: 'end', detail: { outcome: 'completed' } });
  }, limitFor(RUN_MS));
});
