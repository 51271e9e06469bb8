// A voice assistant in one file. A (simulated) language model streams its
// answer token by token; speak() says it sentence by sentence while it is
// still being written, fetching the next sentence while one plays. Then the
// user barges in part-way through the second answer: with @voxpipe/rx the
// answer fades out, its request is cancelled (the server stops), the played
// position and the words heard are reported (from the server's word timings,
// quoting the answer as it was written), and the new answer follows at once.
// It runs against the reference server started in this process with the
// embedded engine: no network, no key to set up.
//
// Run: npx tsx examples/voice-assistant.ts          (writes voice-assistant-1.wav and voice-assistant-2.wav)
//      npx tsx examples/voice-assistant.ts --play   (plays them with aplay, paplay, ffplay, sox or afplay)
import { fromIterable, pipeline, speak, text, VoxpipeError, type PcmChunk, type SinkStage } from '@voxpipe/core';
import { play, wavFile } from '@voxpipe/node';
import { bargeIn, Observable, observableSource, sayWith, Subject, type Speakable, type UtteranceEvent } from '@voxpipe/rx';
import { createServer } from '@voxpipe/server';

const playing = process.argv.includes('--play');
const sink = (name: string): SinkStage<PcmChunk, unknown> => (playing ? play() : wavFile(`${name}.wav`));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stand-in for an LLM's streamed reply: words, a few milliseconds apart. */
async function* llm(answer: string): AsyncGenerator<string> {
  for (const token of answer.match(/\S+\s*/g) ?? []) {
    await sleep(5 + Math.random() * 30);
    yield token;
  }
}

// The reference server, in this process (as `voxpipe say` does without --url).
const apiKey = `example-${crypto.randomUUID()}`;
const server = createServer({ keys: [apiKey], logger: false, env: {} });
const { url: baseUrl, close } = await server.listen({ port: 0 });
await server.ready();
const voice = { baseUrl, apiKey, voice: 'Anna', language: 'en-US', model: 'aura-lite' };

try {
  // 1. Tokens → speech: one line of pipeline.
  const started = performance.now();
  const run = pipeline(
    fromIterable(llm('Good morning! Today will be sunny, with a high of twenty-two degrees. A light breeze comes in from the west in the afternoon. Enjoy your day.'), { format: text }),
    speak({ ...voice, concurrency: 2, maxWaitMs: 800, sentencePauseMs: 120 }),
    sink('voice-assistant-1'),
  );
  run.events.on('first-audio', (e) => console.log(`first audio after ${e.t.toFixed(0)} ms (the answer was still being written)`));
  run.events.on('sentence', (e) => console.log(`  sentence ${e.detail.index}: ${e.detail.text}`));
  const { metrics } = await run.done;
  console.log(`answer 1: ${(metrics.audioMs / 1000).toFixed(2)} s of speech in ${(performance.now() - started).toFixed(0)} ms${playing ? '' : ' → voice-assistant-1.wav'}\n`);

  // 2. Barge-in: the user interrupts the second answer 2.5 s in.
  const turns = new Subject<Speakable>();
  const say = sayWith({ ...voice, maxWaitMs: 800, timestamps: true });
  const rate = 24000;
  let interrupted = false;
  const onEvent = (e: UtteranceEvent<Speakable>) => {
    if (e.type === 'start') console.log(`utterance ${e.id} starts`);
    if (e.type === 'end') console.log(`utterance ${e.id} said whole: ${e.playedMs.toFixed(0)} ms`);
    if (e.type === 'interrupted') {
      console.log(`utterance ${e.id} cut by ${e.by} at ${((e.interruptedAt * 1000) / rate).toFixed(0)} ms, faded out by ${e.playedMs.toFixed(0)} ms; its request was aborted`);
      console.log(`  heard before the cut (${e.heard.words} words): "${e.heard.text}"`);
    }
    if (e.type === 'audio' && e.id === 0 && !interrupted && e.position + e.chunk.channels[0].length >= 2.5 * rate) {
      interrupted = true;
      console.log('user: "Stop, stop. What about tomorrow?"');
      turns.next(llm('Sure. Tomorrow brings rain in the morning, clearing by noon.'));
      turns.complete();
    }
  };
  // (Without the events, `turns.pipe(bargeIn(say), audioOnly())` is the whole of it.)
  const audio = new Observable<PcmChunk>((subscriber) => {
    const subscription = turns.pipe(bargeIn(say, { fadeMs: 15 })).subscribe({
      next: (e) => {
        if (e.type === 'audio') subscriber.next(e.chunk);
        onEvent(e);
      },
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    turns.next(llm('Here is the long-range forecast for the whole week. Monday is cool and bright. Tuesday turns warmer, with sunshine all day. Wednesday sees clouds building from the west, and thunderstorms are likely by the evening.'));
    return subscription;
  });
  const second = pipeline(observableSource(audio, { format: { kind: 'pcm', sampleRate: rate, channels: 1 }, limit: 600_000, size: (c) => c.channels[0].length / (rate / 1000) }), sink('voice-assistant-2'));
  const result = await second.done;
  console.log(`answer 2 with barge-in: ${(result.metrics.audioMs / 1000).toFixed(2)} s of speech${playing ? '' : ' → voice-assistant-2.wav'}; open streams now: ${server.openStreams}`);
} catch (error) {
  // No player or no sound card (with --play) is a `device` error whose message says what to do.
  console.error(`voice-assistant: ${error instanceof VoxpipeError ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await close();
}
