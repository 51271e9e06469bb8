// The word-timing test page's script (bundled by esbuild): plays stand-in
// speech with word marks through audioWorkletSink in a real-time
// AudioContext, and for each `word` event asks the worklet how far it has
// played, so Node can check the event against the audio clock.
import { fromIterable, pipeline } from '../../../packages/core/src/index.js';
import { spokenWords } from '../../../packages/core/src/testing/spoken-words.js';
import { audioWorkletSink, unlock, type PlayedPosition } from '../../../packages/browser/src/index.js';

export interface WordsCase {
  text: string;
  chunkFrames: number;
  /** Once the sink has played this much (by its own position), stop({ fadeMs }). */
  stopAfterMs?: number;
  fadeMs?: number;
  transport?: 'auto' | 'shared' | 'message';
}

/** One `word` event, and the worklet's played position asked for the moment it fired. */
export interface WordRow {
  index: number;
  text: string;
  charStart: number;
  charEnd: number;
  atMs: number;
  /** The worklet's played audio (ms) in its answer to a sync() sent as the event fired. */
  playedMs: number;
  /** How long that answer took (ms of page time). */
  roundTripMs: number;
  /** When the event fired (performance.now()). */
  firedAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function words(o: WordsCase) {
  const context = new AudioContext();
  await unlock(context);
  // Warm up: the worklet loaded and the audio thread running before anything is measured.
  const warm = audioWorkletSink({ context, prebufferMs: 20 });
  await pipeline(fromIterable([{ sampleRate: 24000, channels: [new Float32Array(4800)] }], { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } }), warm).done;
  // The page's own ticker: a gap in it is a time the page's thread did not run (a busy machine).
  const ticks: number[] = [];
  const ticker = setInterval(() => ticks.push(performance.now()), 4);
  const spoken = spokenWords(o.text, { chunkFrames: o.chunkFrames, sampleRate: 24000 });
  const sink = audioWorkletSink({ context, prebufferMs: 200, bufferMs: 20_000, transport: o.transport ?? 'auto' });
  const run = pipeline(fromIterable(spoken.chunks, { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } }), sink);
  const control = () => run.control(sink)!;
  const pending: Array<Promise<WordRow>> = [];
  run.events.on('word', ({ detail }) => {
    const sent = performance.now();
    pending.push(control().sync().then((s) => ({ ...detail, playedMs: s.played.ms, roundTripMs: performance.now() - sent, firedAt: sent })));
  });
  let stopped: PlayedPosition | undefined;
  if (o.stopAfterMs !== undefined) {
    await run.events.once('playback-start');
    for (let s = await control().sync(); s.played.ms < o.stopAfterMs && s.state !== 'done'; s = await control().sync()) await sleep(5);
    stopped = await control().stop({ fadeMs: o.fadeMs ?? 20 });
  }
  const result = await run.done;
  const rows = await Promise.all(pending);
  clearInterval(ticker);
  const latencyMs = (context.baseLatency + (context.outputLatency ?? 0)) * 1000;
  await context.close();
  return { rows, ticks, stopped, played: result.value?.played, outcome: result.outcome, latencyMs, rate: context.sampleRate, words: spoken.words, crossOriginIsolated: globalThis.crossOriginIsolated };
}

(globalThis as unknown as { vx: unknown }).vx = { words };
(globalThis as unknown as { vxReady: boolean }).vxReady = true;
