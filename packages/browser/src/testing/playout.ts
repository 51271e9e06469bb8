// Plays a delivery schedule through the worklet processor's own code in Node
// (PROCESSOR_SOURCE in a stand-in AudioWorkletGlobalScope), render quantum by
// render quantum on a simulated clock, and measures what a listener gets:
// underruns, and how long each sample waited between arriving and playing.
// Used by the jitter buffer's tests and bench/jitter.ts.
import type { JitterSettings } from '../jitter-buffer.js';
import { PROCESSOR_SOURCE, type ProcessorOptions } from '../worklet-processor.js';

/** `frames` of audio arriving at `atMs` (in order: a byte stream delivers in order). */
export interface Delivery {
  atMs: number;
  frames: number;
}

export interface PlayoutResult {
  underruns: number;
  /** Mean over speech samples of (played at − arrived at), in ms. */
  meanLatencyMs: number;
  /** The longest any sample waited, in ms. */
  worstLatencyMs: number;
  /** When the first sample played, in ms. */
  startMs: number;
  /** Pause the jitter buffer added while the ring filled, and skipped from long pauses, in ms. */
  heldMs: number;
  trimmedMs: number;
}

/** Where the speech is: true for a sample of speech, false for one of a pause (silence). Default: speech throughout. */
export type Speech = (frame: number) => boolean;

/** Phrases of 1–3 s with pauses of 150–600 ms between them, like a TTS answer's sentences and clauses. */
export function phrases(random: () => number, seconds: number, rate = 24000): Speech {
  const pauses: Array<[number, number]> = [];
  for (let t = 1 + 2 * random(); t < seconds; t += 1 + 2 * random()) {
    const ms = 150 + 450 * random();
    pauses.push([Math.round(t * rate), Math.round((t + ms / 1000) * rate)]);
    t += ms / 1000;
  }
  return (frame) => !pauses.some(([from, to]) => frame >= from && frame < to);
}

const QUANTUM = 128;

export interface Processor {
  port: { onmessage: ((event: { data: unknown }) => void) | null; postMessage(m: unknown): void };
  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean;
  played: number;
}

/** The worklet processor's class, evaluated in Node against a stand-in AudioWorkletGlobalScope whose port posts to `sent`. */
export function processorClass(): new (options: { processorOptions: ProcessorOptions }) => Processor {
  let registered: unknown;
  class AudioWorkletProcessor {
    readonly port = { onmessage: null, postMessage: () => {} };
  }
  new Function('AudioWorkletProcessor', 'registerProcessor', 'currentFrame', 'currentTime', 'sampleRate', PROCESSOR_SOURCE)(AudioWorkletProcessor, (_: string, c: unknown) => (registered = c), 0, 0, 24000);
  return registered as new (options: { processorOptions: ProcessorOptions }) => Processor;
}

/**
 * Hands `pieces` of `signal` to a processor through `send`, each once the
 * one before has waited its `gapQuanta` render quanta, and `end` with the
 * last; call it once per quantum, before `process`.
 *
 * ```ts
 * const feed = pieceFeeder(send, signal, [{ frames: 500, gapQuanta: 3 }]); // each quantum: feed(); p.process([], [out]);
 * ```
 */
export function pieceFeeder(send: (data: unknown) => void, signal: Float32Array, pieces: readonly { frames: number; gapQuanta: number }[]): () => void {
  let delivered = 0;
  let piece = 0;
  let wait = 0;
  return () => {
    if (piece >= pieces.length || wait-- > 0) return;
    send({ type: 'data', channels: [signal.slice(delivered, delivered + pieces[piece].frames)] });
    delivered += pieces[piece].frames;
    wait = pieces[piece++].gapQuanta;
    if (piece === pieces.length) send({ type: 'end' });
  };
}

let Processor: ReturnType<typeof processorClass> | undefined;

/** Plays `schedule` (its samples speech or pause by `speech`) at `rate` through the processor with this jitter buffer (frames at `rate`). */
export function playout(schedule: readonly Delivery[], jitter: JitterSettings, speech: Speech = () => true, rate = 24000): PlayoutResult {
  Processor ??= processorClass();
  const total = schedule.reduce((n, d) => n + d.frames, 0);
  const capacity = total + jitter.maxFrames + jitter.prebufferFrames + 2048;
  const p = new Processor({ processorOptions: { channels: 1, capacity, prebufferFrames: jitter.prebufferFrames, rebufferFrames: jitter.rebufferFrames, jitter, rampFrames: 120, keepFrames: Math.round(rate / 10), reportFrames: 1 << 30 } });
  const signal = new Float32Array(total);
  for (let i = 0; i < total; i++) signal[i] = speech(i) ? 0.5 : 0;
  let speechFrames = 0;
  let underruns = 0;
  (p as unknown as { port: { postMessage(m: { type: string }): void } }).port.postMessage = (m) => void (m.type === 'underrun' && underruns++);
  const arrivals: Array<{ end: number; atMs: number }> = [];
  let delivered = 0;
  let next = 0;
  let latencySum = 0;
  let worst = 0;
  let startMs = -1;
  let ended = false;
  const out = [new Float32Array(QUANTUM)];
  const msPerQuantum = (QUANTUM * 1000) / rate;
  for (let q = 0; p.played < total; q++) {
    const now = q * msPerQuantum;
    if (q > 1e7) throw new Error('playout: the schedule never finished playing');
    for (; next < schedule.length && schedule[next].atMs <= now; next++) {
      const d = schedule[next];
      p.port.onmessage!({ data: { type: 'data', channels: [signal.slice(delivered, delivered + d.frames)] } });
      delivered += d.frames;
      arrivals.push({ end: delivered, atMs: d.atMs });
    }
    if (next === schedule.length && !ended) {
      ended = true;
      p.port.onmessage!({ data: { type: 'end' } });
    }
    const before = p.played;
    out[0].fill(0);
    p.process([], [out]);
    const got = p.played - before;
    if (got > 0 && startMs < 0) startMs = now;
    // The frames played in this quantum waited since their delivery.
    for (let frame = before; frame < p.played; ) {
      while (arrivals[0].end <= frame) arrivals.shift();
      const upTo = Math.min(p.played, arrivals[0].end);
      const wait = now - arrivals[0].atMs;
      for (let i = frame; i < upTo; i++) {
        if (signal[i] === 0) continue; // a pause's sample: skipped or not, nobody waits for silence
        latencySum += wait;
        speechFrames++;
        worst = Math.max(worst, wait);
      }
      frame = upTo;
    }
  }
  const stats = p as unknown as { held: number; trimmed: number };
  return { underruns, meanLatencyMs: latencySum / Math.max(1, speechFrames), worstLatencyMs: worst, startMs, heldMs: (stats.held * 1000) / rate, trimmedMs: (stats.trimmed * 1000) / rate };
}

/** A network's way of delivering a stream: pieces of `chunkMs`, sent `speed`× real time, each late by up to `jitterMs`, and stalls. */
export interface Network {
  seconds: number;
  chunkMs: number;
  speed: number;
  jitterMs: number;
  /** Where the connection stalls (s into the sending) and for how long (ms). */
  stalls: ReadonlyArray<{ atS: number; ms: number }>;
  /** Where the connection slows down (s into the sending), for how long (s), to what fraction of `speed`. */
  dips?: ReadonlyArray<{ atS: number; seconds: number; speed: number }>;
  /** Numbers in [0, 1) for the jitter (a seeded generator). */
  random: () => number;
}

/** The delivery schedule such a network gives: in order, each piece no earlier than the one before. */
export function deliveries(n: Network, rate = 24000): Delivery[] {
  const out: Delivery[] = [];
  const pieces = Math.ceil((n.seconds * 1000) / n.chunkMs);
  let last = 0;
  let sent = 0;
  for (let i = 0; i < pieces; i++) {
    const dip = n.dips?.find((d) => sent >= d.atS * 1000 && sent < (d.atS + d.seconds) * 1000);
    sent += n.chunkMs / (n.speed * (dip ? dip.speed : 1));
    let at = sent + n.random() * n.jitterMs;
    for (const s of n.stalls) if (sent >= s.atS * 1000 && sent < s.atS * 1000 + s.ms) at = Math.max(at, s.atS * 1000 + s.ms);
    last = Math.max(last, at);
    out.push({ atMs: last, frames: Math.round((n.chunkMs * rate) / 1000) });
  }
  return out;
}

/** A small seeded generator (mulberry32), so a schedule is the same in every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sink's jitter settings for a prebuffer of `ms` (as audioWorkletSink makes them, at `rate`). */
export function jitterFor(mode: 'adaptive' | 'fixed', ms: number, rebufferMs = ms, rate = 24000): JitterSettings {
  const f = (x: number) => Math.round((x * rate) / 1000);
  return { adaptive: mode === 'adaptive', prebufferFrames: f(ms), rebufferFrames: f(rebufferMs), minFrames: f(ms), maxFrames: f(Math.max(ms, 1000)), decayFrames: f(2000), marginFrames: f(100) };
}
