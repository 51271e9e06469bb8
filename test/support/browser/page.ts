// The test page's script (bundled by esbuild in the browser tests): drives
// voxpipe's browser sinks in Chromium and hands what was rendered back to Node.
import { decode } from '../../../packages/codecs/src/index.js';
import { fromIterable, pipeline, ttsSource, type PcmChunk } from '../../../packages/core/src/index.js';
import { audioWorkletSink, browserPlayer, canUseMediaSource, unlock, type MediaSourceControl, type PlayedPosition } from '../../../packages/browser/src/index.js';
import { chirp, floatsToBase64, tone } from './signals.js';

/** A tap: records its input, quantum by quantum, from its first render on (zeros where nothing is connected). */
const RECORDER_SOURCE = `
class VxRecorder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.first = -1;
    this.chunks = [];
    this.port.onmessage = () => { this.port.postMessage({ first: this.first, chunks: this.chunks }); this.chunks = []; };
  }
  process(inputs) {
    if (this.first < 0) this.first = currentFrame;
    const x = inputs[0] && inputs[0][0];
    this.chunks.push(x ? x.slice() : new Float32Array(128));
    return true;
  }
}
registerProcessor('vx-recorder', VxRecorder);
`;

async function recorder(context: BaseAudioContext) {
  const url = URL.createObjectURL(new Blob([RECORDER_SOURCE], { type: 'text/javascript' }));
  await context.audioWorklet.addModule(url);
  const node = new AudioWorkletNode(context, 'vx-recorder', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1, channelCountMode: 'explicit' });
  node.connect(context.destination);
  return {
    node,
    take(): Promise<{ first: number; samples: Float32Array }> {
      return new Promise((resolve) => {
        node.port.onmessage = (event: MessageEvent<{ first: number; chunks: Float32Array[] }>) => {
          const { first, chunks } = event.data;
          const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const c of chunks) {
            samples.set(c, at);
            at += c.length;
          }
          resolve({ first, samples });
        };
        node.port.postMessage('take');
      });
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function split(input: Float32Array, rate: number, sizes: number[]): PcmChunk[] {
  const chunks: PcmChunk[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const n = Math.min(sizes[i % sizes.length], input.length - at);
    chunks.push({ sampleRate: rate, channels: [input.slice(at, at + n)] });
    at += n;
  }
  return chunks;
}

export interface OfflineCase {
  contextRate: number;
  streamRate: number;
  signal: 'chirp' | 'tone';
  frequency?: number;
  seconds: number;
  renderSeconds: number;
  chunkSizes: number[];
  transport: 'auto' | 'shared' | 'message';
  prebufferMs?: number;
  /** Context time (s) at which to call stop({ fadeMs }). */
  stopAt?: number;
  fadeMs?: number;
}

/** Plays a signal made in the page through the sink in an OfflineAudioContext: deterministic, faster than real time. */
async function offline(o: OfflineCase) {
  const frames = Math.round(o.seconds * o.streamRate);
  const input = o.signal === 'chirp' ? chirp(frames, o.streamRate) : tone(frames, o.streamRate, o.frequency ?? 1000);
  const context = new OfflineAudioContext(1, Math.round(o.renderSeconds * o.contextRate), o.contextRate);
  const sink = audioWorkletSink({ context, prebufferMs: o.prebufferMs ?? 100, bufferMs: (o.seconds + 1) * 1000, transport: o.transport });
  const run = pipeline(fromIterable(split(input, o.streamRate, o.chunkSizes), { format: { kind: 'pcm', sampleRate: o.streamRate, channels: 1 } }), sink);
  const control = () => run.control(sink);
  const events: string[] = [];
  run.events.on('*', (e) => events.push(e.type));
  const expected = Math.round((frames * o.contextRate) / o.streamRate);
  for (let tries = 0; ; tries++) {
    await sleep(10);
    if (tries > 1000) throw new Error(`the worklet never got all the audio: ${JSON.stringify(control()?.status())}`);
    if (!control()?.node) continue;
    const status = await control()!.sync();
    if (Math.round((status.bufferedMs * o.contextRate) / 1000) >= expected) break;
  }
  let stopping: Promise<PlayedPosition> | undefined;
  if (o.stopAt !== undefined) {
    void context.suspend(o.stopAt).then(async () => {
      stopping = control()!.stop({ fadeMs: o.fadeMs });
      await control()!.sync(); // the worklet has the stop message before rendering goes on
      await context.resume();
    });
  }
  const rendered = await context.startRendering();
  const ended = await run.done.then(
    (r) => ({ outcome: r.outcome as string, played: r.value?.played, code: undefined as string | undefined }),
    (e: { code?: string }) => ({ outcome: 'error', played: undefined, code: e.code }),
  );
  const stopped = stopping ? await stopping : undefined;
  return {
    rendered: floatsToBase64(rendered.getChannelData(0)),
    expected,
    transport: control()!.status(),
    crossOriginIsolated: globalThis.crossOriginIsolated,
    events,
    ...ended,
    stopped,
  };
}

export interface StreamCase {
  baseUrl: string;
  apiKey: string;
  text: string;
  model?: string;
  format?: 'pcm' | 'mp3';
  contextRate?: number;
  prebufferMs?: number;
  transport?: 'auto' | 'shared' | 'message';
  /** Once the sink has played this much audio (by its own position, not the clock), stop({ fadeMs }). */
  stopAfterMs?: number;
  fadeMs?: number;
  /** The sink's rebuffer option. */
  rebuffer?: boolean | number;
}

/** Streams from the server into the sink in a real-time AudioContext, recording the sink's output with a tap. */
async function stream(o: StreamCase) {
  const context = new AudioContext(o.contextRate ? { sampleRate: o.contextRate } : {});
  await unlock(context);
  const tap = await recorder(context);
  const sink = audioWorkletSink({
    context,
    destination: tap.node,
    prebufferMs: o.prebufferMs ?? 300,
    bufferMs: 20_000,
    transport: o.transport ?? 'auto',
    rebuffer: o.rebuffer ?? false,
  });
  const source = ttsSource({ baseUrl: o.baseUrl, apiKey: o.apiKey, text: o.text, voice: 'Peter', language: 'en-US', model: o.model ?? 'aura-lite', format: o.format ?? 'pcm' });
  const run = pipeline(source, decode(), sink);
  const control = () => run.control(sink)!;
  const events: Array<{ type: string; t: number }> = [];
  run.events.on('*', (e) => events.push({ type: e.type, t: e.t }));
  let stopped: PlayedPosition | undefined;
  if (o.stopAfterMs !== undefined) {
    await run.events.once('playback-start');
    // The audio clock, not the page's: on a busy machine the two drift apart.
    for (let s = await control().sync(); s.played.ms < o.stopAfterMs && s.state !== 'done'; s = await control().sync()) await sleep(10);
    stopped = await control().stop({ fadeMs: o.fadeMs });
  }
  const ended = await run.done.then(
    (r) => ({ outcome: r.outcome as string, played: r.value?.played, metrics: r.metrics, code: undefined as string | undefined }),
    (e: { code?: string; message?: string }) => ({ outcome: `error: ${e.message}`, played: undefined, metrics: undefined, code: e.code }),
  );
  await sleep(150);
  const { first, samples } = await tap.take();
  await context.close();
  return { recording: floatsToBase64(samples), first, rate: context.sampleRate, events, stopped, ...ended, crossOriginIsolated: globalThis.crossOriginIsolated };
}

/** unlock() on a context this page suspended, and on one whose resume() the browser refuses. */
async function unlockCases() {
  const context = new AudioContext();
  await context.suspend();
  const before = context.state;
  await unlock(context);
  const after = context.state;
  const refused = new AudioContext();
  await refused.suspend();
  refused.resume = () => Promise.reject(new DOMException('play() failed because the user did not interact with the document first', 'NotAllowedError'));
  const error = await unlock(refused).then(
    () => undefined,
    (e: { name: string; code: string; message: string }) => ({ name: e.name, code: e.code, message: e.message }),
  );
  await context.close();
  await refused.close();
  return { before, after, error };
}

/** Plays an MP3 stream from the server through browserPlayer (MSE where Chromium supports audio/mpeg). */
async function mse(o: { baseUrl: string; apiKey: string; text: string; stopAfterMs?: number }) {
  const player = browserPlayer({ format: 'mp3' });
  const source = ttsSource({ baseUrl: o.baseUrl, apiKey: o.apiKey, text: o.text, voice: 'Peter', language: 'en-US', model: 'rapid-flash', format: 'mp3' });
  const run = pipeline(source, ...player.stages);
  const events: string[] = [];
  run.events.on('*', (e) => events.push(e.type));
  let stopped: PlayedPosition | undefined;
  const volumes: number[] = [];
  if (o.stopAfterMs !== undefined) {
    await run.events.once('playback-start');
    await sleep(o.stopAfterMs);
    const control = run.control(player.sink) as MediaSourceControl;
    const volume = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'volume')!;
    Object.defineProperty(control.audio, 'volume', { get: () => volume.get!.call(control.audio), set: (x: number) => (volumes.push(x), volume.set!.call(control.audio, x)), configurable: true });
    stopped = await control.stop({ fadeMs: 50 });
    delete (control.audio as { volume?: number }).volume;
  }
  const ended = await run.done.then(
    (r) => ({ outcome: r.outcome as string, played: r.value?.played }),
    (e: { code?: string; message?: string }) => ({ outcome: `error ${e.code}: ${e.message}`, played: undefined }),
  );
  return { via: player.via, canUseMediaSource: canUseMediaSource(), events, stopped, volumes, ...ended };
}

Object.assign(globalThis, { vx: { offline, stream, unlockCases, mse } });
(globalThis as { vxReady?: boolean }).vxReady = true;
