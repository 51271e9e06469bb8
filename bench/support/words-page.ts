// The word-timing benchmark's page (bundled by esbuild): plays stand-in speech
// with word marks through audioWorkletSink and, for the same playback, times
// two ways of saying "this word is playing now" against the worklet's played
// frame count: voxpipe's `word` events, and a peer that polls the sink's
// status() every 10 ms (as an app without word events would).
import { fromIterable, pipeline } from '../../packages/core/src/index.js';
import { spokenWords } from '../../packages/core/src/testing/spoken-words.js';
import { audioWorkletSink, unlock } from '../../packages/browser/src/index.js';

const format = { kind: 'pcm', sampleRate: 24000, channels: 1 } as const;

async function run(o: { text: string; transport: 'message' | 'shared' }) {
  const context = new AudioContext();
  await unlock(context);
  const warm = audioWorkletSink({ context, prebufferMs: 20 });
  await pipeline(fromIterable([{ sampleRate: 24000, channels: [new Float32Array(4800)] }], { format }), warm).done;
  const latencyMs = (context.baseLatency + (context.outputLatency ?? 0)) * 1000;
  const spoken = spokenWords(o.text, { chunkFrames: 1000 });
  const sink = audioWorkletSink({ context, prebufferMs: 200, bufferMs: 20_000, transport: o.transport });
  const played = pipeline(fromIterable(spoken.chunks, { format }), sink);
  const control = () => played.control(sink)!;
  /** Where the speaker was when an event fired: the worklet's count (asked at once) less the latency, less the word's start. */
  const errors = { events: [] as Array<Promise<number>>, polled: [] as Array<Promise<number>> };
  const measure = (atMs: number) => control().sync().then((s) => s.played.ms - latencyMs - atMs);
  played.events.on('word', (e) => errors.events.push(measure(e.detail.atMs)));
  let next = 0;
  const poll = setInterval(() => {
    const status = played.control(sink)?.status();
    if (!status) return;
    while (next < spoken.words.length && status.played.ms - latencyMs >= (spoken.words[next].at * 1000) / 24000) errors.polled.push(measure((spoken.words[next++].at * 1000) / 24000));
  }, 10);
  await played.done;
  clearInterval(poll);
  await context.close();
  // The last word fires as the stream drains: left out of both.
  return { events: (await Promise.all(errors.events)).slice(0, -1), polled: (await Promise.all(errors.polled)).slice(0, -1), latencyMs };
}

(globalThis as unknown as { vx: unknown }).vx = { run };
(globalThis as unknown as { vxReady: boolean }).vxReady = true;
