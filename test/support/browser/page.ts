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

/**
 * Plays a signal made in the page through the sink in an OfflineAudioContext: deterministic, faster
 * than real time. A stop at a given time needs the offline context's suspend(), which Firefox lacks:
 * there the same case plays in a real-time context, all of it buffered before it starts, recorded by a tap.
 */
async function offline(o: OfflineCase) {
  if (o.stopAt !== undefined && typeof (OfflineAudioContext.prototype as Partial<OfflineAudioContext>).suspend !== 'function') return realtime(o);
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

/** offline()'s case in a real-time context: the sink gathers the whole signal before playing, stop() once it has played `stopAt` s. */
async function realtime(o: OfflineCase) {
  const frames = Math.round(o.seconds * o.streamRate);
  const input = o.signal === 'chirp' ? chirp(frames, o.streamRate) : tone(frames, o.streamRate, o.frequency ?? 1000);
  const context = new AudioContext({ sampleRate: o.contextRate });
  await unlock(context, UNLOCK_WAIT_MS);
  const tap = await recorder(context);
  const sink = audioWorkletSink({ context, destination: tap.node, prebufferMs: o.seconds * 1000, bufferMs: (o.seconds + 1) * 1000, transport: o.transport });
  const run = pipeline(fromIterable(split(input, o.streamRate, o.chunkSizes), { format: { kind: 'pcm', sampleRate: o.streamRate, channels: 1 } }), sink);
  const control = () => run.control(sink)!;
  const events: string[] = [];
  run.events.on('*', (e) => events.push(e.type));
  await run.events.once('playback-start');
  for (let s = await control().sync(); s.played.ms < o.stopAt! * 1000; s = await control().sync()) await sleep(5);
  const stopped = await control().stop({ fadeMs: o.fadeMs });
  const ended = await run.done.then(
    (r) => ({ outcome: r.outcome as string, played: r.value?.played, code: undefined as string | undefined }),
    (e: { code?: string }) => ({ outcome: 'error', played: undefined, code: e.code }),
  );
  await sleep(50);
  const { samples } = await tap.take();
  await context.close();
  return { rendered: floatsToBase64(samples), expected: frames, transport: control().status(), crossOriginIsolated: globalThis.crossOriginIsolated, events, ...ended, stopped };
}

/** How long unlock() may wait for a browser to start its audio output (Firefox opens its sound-server stream then). */
const UNLOCK_WAIT_MS = 30_000;

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
  await unlock(context, UNLOCK_WAIT_MS);
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
  const status = control().status();
  await sleep(150);
  const { first, samples } = await tap.take();
  await context.close();
  return { recording: floatsToBase64(samples), first, rate: context.sampleRate, events, stopped, status, ...ended, crossOriginIsolated: globalThis.crossOriginIsolated };
}

/** unlock() on a context this page suspended, and on one whose resume() the browser refuses. */
async function unlockCases() {
  const context = new AudioContext();
  await context.suspend();
  const before = context.state;
  await unlock(context, UNLOCK_WAIT_MS);
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
  if (o.stopAfterMs !== undefined && player.via === 'worklet') {
    await run.events.once('playback-start');
    await sleep(o.stopAfterMs);
    stopped = await run.control(player.sink)!.stop({ fadeMs: 50 });
  } else if (o.stopAfterMs !== undefined) {
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

/** A real-time context at 24 kHz with a tap, and a sink that gathers the whole tone before playing. */
async function tonePlayer(seconds: number, extra: Parameters<typeof audioWorkletSink>[0] = {}) {
  const rate = 24000;
  const context = new AudioContext({ sampleRate: rate });
  await unlock(context, UNLOCK_WAIT_MS);
  const tap = await recorder(context);
  const input = tone(seconds * rate, rate, 440);
  const sink = audioWorkletSink({ context, destination: tap.node, prebufferMs: seconds * 1000, bufferMs: (seconds + 1) * 1000, ...extra });
  const run = pipeline(fromIterable(split(input, rate, [1000]), { format: { kind: 'pcm', sampleRate: rate, channels: 1 } }), sink);
  const control = () => run.control(sink)!;
  const warnings: string[] = [];
  run.events.on('warning', (e) => warnings.push(e.detail.code));
  await run.events.once('playback-start');
  const until = async (ms: number) => {
    for (let s = await control().sync(); s.played.ms < ms && s.state !== 'done'; s = await control().sync()) await sleep(5);
  };
  return { context, tap, run, control, until, warnings };
}

/** pause() at 0.5 s, held 300 ms, resume(); volume 0.25 at 1.5 s; the tap's recording and the positions. */
async function controls() {
  const p = await tonePlayer(2.5);
  await p.until(500);
  const paused = await p.control().pause();
  await sleep(300);
  const held = await p.control().sync();
  p.control().resume();
  await p.until(1500);
  p.control().setVolume(0.25);
  const status = p.control().status();
  const ended = await p.run.done.then((r) => ({ outcome: r.outcome as string, played: r.value?.played }));
  await sleep(50);
  const { samples } = await p.tap.take();
  await p.context.close();
  return { recording: floatsToBase64(samples), paused, held, status, ...ended };
}

/** outputElement: the tone goes out through an <audio> element's MediaStream (recorded from it); setSinkId with and without it. */
async function outputCases() {
  const p = await tonePlayer(1, { outputElement: true });
  const audio = p.control().audio!;
  const stream = audio.srcObject as MediaStream;
  const fromStream = p.context.createMediaStreamSource(stream);
  fromStream.connect(p.tap.node);
  const element = { isStream: stream instanceof MediaStream, tracks: stream.getAudioTracks().map((t) => t.readyState), paused: audio.paused };
  const elementSink = await p.control().setSinkId('').then(() => 'ok', (e: { code?: string }) => `error ${e.code}`);
  await p.run.done;
  await sleep(100);
  const { samples } = await p.tap.take();
  const heard = samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  await p.context.close();
  const q = await tonePlayer(0.3);
  const contextSink = await q.control().setSinkId('').then(() => 'ok', (e: { code?: string; message?: string }) => `error ${e.code}: ${e.message}`);
  await q.run.done;
  await q.context.close();
  return { element, elementSink, heard, contextSink, contextHasSinkId: typeof (AudioContext.prototype as { setSinkId?: unknown }).setSinkId === 'function' };
}

/** The context is suspended under a playing run (as iOS interrupts it): the sink warns, and the next click resumes it. */
const interruption: { warned?: boolean; done?: Promise<{ outcome: string; warnings: string[]; states: string[] }> } = {};
async function interruptStart() {
  const p = await tonePlayer(1.5);
  const states: string[] = [];
  p.context.addEventListener('statechange', () => states.push(p.context.state));
  await p.until(300);
  await p.context.suspend();
  for (let i = 0; i < 1000 && !p.warnings.includes('audio-interrupted'); i++) await sleep(10);
  interruption.warned = p.warnings.includes('audio-interrupted');
  interruption.done = p.run.done.then(async (r) => {
    await p.context.close();
    return { outcome: r.outcome as string, warnings: p.warnings, states };
  });
  return interruption.warned;
}
const interruptEnd = () => interruption.done!;

/**
 * Plays encoded audio through browserPlayer (decode() + the worklet, which sniffs the format), in odd-sized pieces,
 * recording what the worklet renders: a file from this page's server, or the API server's stream in `format`.
 */
async function encoded(o: { url?: string; api?: { baseUrl: string; apiKey: string; text: string; format: string } }) {
  const response = o.url
    ? await fetch(o.url)
    : await fetch(`${o.api!.baseUrl}/v1/tts/stream`, {
        method: 'POST',
        headers: { 'X-API-Key': o.api!.apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: o.api!.text, voice: 'Peter', language: 'en-US', model: 'aura-lite', format: o.api!.format }),
      });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const pieces: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = [1, 777, 4096, 13][i % 4];
    pieces.push(bytes.slice(at, at + n));
    at += n;
  }
  const context = new AudioContext({ sampleRate: 24000 });
  await unlock(context, UNLOCK_WAIT_MS);
  const tap = await recorder(context);
  const player = browserPlayer({ context, destination: tap.node, prebufferMs: 3000, bufferMs: 20_000 });
  const run = pipeline(fromIterable(pieces, { format: { kind: 'bytes' } }), ...player.stages);
  const ended = await run.done.then(
    (r) => ({ outcome: r.outcome as string, played: r.value?.played }),
    (e: { code?: string; message?: string }) => ({ outcome: `error ${e.code}: ${e.message}`, played: undefined }),
  );
  await sleep(50);
  const { samples } = await tap.take();
  await context.close();
  return { via: player.via, contentType: response.headers.get('content-type'), bytes: bytes.length, recording: floatsToBase64(samples), ...ended };
}

/**
 * Speech-like audio (three 0.5 s tones, 300 ms pauses between) delivered slower than real time (40 ms of
 * audio every 60 ms), into the adaptive sink from 100 ms: it holds the pauses longer while its ring is low.
 */
async function jitterCase() {
  const rate = 24000;
  const phrase = Float32Array.from({ length: rate / 2 }, (_, n) => 0.5 * Math.sin((2 * Math.PI * 440 * n) / rate)); // 220 whole cycles: no step at its ends
  const pause = new Float32Array((rate * 3) / 10);
  const signal = new Float32Array(3 * phrase.length + 2 * pause.length);
  signal.set(phrase, 0);
  signal.set(phrase, phrase.length + pause.length);
  signal.set(phrase, 2 * (phrase.length + pause.length));
  const context = new AudioContext({ sampleRate: rate });
  await unlock(context, UNLOCK_WAIT_MS);
  const tap = await recorder(context);
  const sink = audioWorkletSink({ context, destination: tap.node, prebufferMs: 100, bufferMs: 5000 });
  async function* slowly() {
    for (let at = 0; at < signal.length; at += 960) {
      yield { sampleRate: rate, channels: [signal.slice(at, at + 960)] } satisfies PcmChunk;
      await sleep(60);
    }
  }
  const run = pipeline(fromIterable(slowly(), { format: { kind: 'pcm', sampleRate: rate, channels: 1 } }), sink);
  const ended = await run.done.then((r) => ({ outcome: r.outcome as string, played: r.value?.played }));
  const status = run.control(sink)!.status();
  await sleep(50);
  const { samples } = await tap.take();
  await context.close();
  return { recording: floatsToBase64(samples), signal: floatsToBase64(signal), status, ...ended };
}

/** Several encoded() at once, each in its own context. */
const encodedAll = (cases: Array<Parameters<typeof encoded>[0]>) => Promise.all(cases.map(encoded));

Object.assign(globalThis, { vx: { offline, stream, unlockCases, mse, controls, outputCases, interruptStart, interruptEnd, encodedAll, jitterCase } });
(globalThis as { vxReady?: boolean }).vxReady = true;
