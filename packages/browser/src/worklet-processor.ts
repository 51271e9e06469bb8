// The AudioWorkletProcessor behind `audioWorkletSink`, kept as plain
// JavaScript source so it loads from a Blob URL: users ship no extra file.
//
// It plays planar float PCM from a single-producer, single-consumer ring:
// a SharedArrayBuffer the main thread writes into when the page is
// crossOriginIsolated, otherwise a local ring filled by posted chunks.
// Index layout (Int32): [0] write position, [1] read position, both in
// 0…capacity−1; one slot stays empty so full and empty differ.

import { JITTER_SOURCE, type JitterSettings } from './jitter-buffer.js';
import { PROCESSOR_NAME } from './load-processor.js';

/** Messages the processor sends back to the main thread. */
export type ProcessorMessage = {
  /** The jitter buffer's target, and the frames of pause it added (held) and skipped (trimmed). */
  target?: number;
  held?: number;
  trimmed?: number;
} & (
  | { type: 'position'; played: number; buffered: number }
  /** A watched frame is read at context time `at` (s): sent `watchLeadFrames` early, so the message's trip is no delay. */
  | { type: 'reached'; frame: number; at: number; played: number; buffered: number }
  | { type: 'started'; frame: number; played: number; buffered: number }
  | { type: 'underrun'; played: number; buffered: number }
  | { type: 'buffering'; played: number; buffered: number }
  | { type: 'playing'; played: number; buffered: number }
  | { type: 'drained'; played: number; buffered: number }
  | { type: 'stopping'; played: number; buffered: number }
  | { type: 'stopped'; played: number; buffered: number }
  | { type: 'paused'; played: number; buffered: number }
  | { type: 'status'; id: number; state: string; played: number; buffered: number }
  | { type: 'warning'; code: string; message: string; played: number; buffered: number }
);

/** What the main thread passes as `processorOptions`. */
export interface ProcessorOptions {
  channels: number;
  /** Ring size in frames (one slot stays empty). */
  capacity: number;
  /** Frames to gather before playing. */
  prebufferFrames: number;
  /** Frames to gather again after an underrun; 0 plays on without waiting. */
  rebufferFrames: number;
  /** The jitter buffer (default: fixed, from prebufferFrames and rebufferFrames). */
  jitter?: JitterSettings;
  /** Length of the fades that keep an underrun, a pause and a resume from clicking. */
  rampFrames?: number;
  /** Output gain to start with (default 1). */
  volume?: number;
  /** Time constant (frames) of the output gain's move to a new volume. */
  volumeFrames?: number;
  /** Below this level a sample counts as a pause's (default 0.003, about -50 dBFS). */
  silence?: number;
  /** The jitter buffer never shortens a pause below this many frames. */
  keepFrames?: number;
  /** Frames between position reports. */
  reportFrames: number;
  /** How many frames before a watched frame is read its 'reached' goes out. */
  watchLeadFrames?: number;
  /** Shared ring, when the page is crossOriginIsolated. */
  shared?: { index: SharedArrayBuffer; data: SharedArrayBuffer };
}

/** The processor's source, registered as PROCESSOR_NAME. Plain ES2020; no imports. */
export const PROCESSOR_SOURCE = JITTER_SOURCE + String.raw`
class VoxpipeRingPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.channels = o.channels;
    this.capacity = o.capacity;
    this.jitter = new VoxpipeJitter(o.jitter || { adaptive: false, prebufferFrames: o.prebufferFrames, rebufferFrames: o.rebufferFrames, minFrames: 0, maxFrames: 0, decayFrames: 1, marginFrames: 0 });
    this.ramp = Math.max(1, o.rampFrames || 1);
    this.rampIn = 0; // frames of fade-in left (after an underrun or a pause)
    this.pauseLeft = 0; // frames of the pause's fade-out left
    this.last = new Float32Array(32); // each channel's last sample played, and frames since (the glide to silence)
    this.glide = this.ramp;
    this.silence = o.silence === undefined ? 0.003 : o.silence; // below this (about -50 dBFS) a sample is a pause's
    this.keepFrames = o.keepFrames || 2400; // a pause is never shortened below this
    this.held = 0; // frames of pause added while the ring filled
    this.trimmed = 0; // frames of pause skipped
    this.waited = 0; // frames of silence waited after underruns
    this.scratch = []; // where skipped silence is read to
    this.volume = o.volume === undefined ? 1 : o.volume;
    this.gain = this.volume;
    this.smoothing = 1 - Math.exp(-1 / Math.max(1, o.volumeFrames || 1)); // the volume moves with this time constant
    this.reportFrames = Math.max(128, o.reportFrames);
    this.shared = !!o.shared;
    if (o.shared) {
      this.index = new Int32Array(o.shared.index);
      this.data = new Float32Array(o.shared.data);
    } else {
      this.index = new Int32Array(2);
      this.data = new Float32Array(this.capacity * this.channels);
    }
    this.state = 'prebuffer'; // prebuffer | playing | pausing | paused | fading | done
    this.ended = false;
    this.started = false;
    this.starving = false;
    this.played = 0;
    this.sinceReport = 0;
    this.fadeTotal = 0;
    this.fadeDone = 0;
    this.disposed = false;
    this.watched = []; // frames (ascending) to report as they are about to be read: where words start
    this.watchLead = o.watchLeadFrames || 0;
    this.port.onmessage = (event) => this.receive(event.data);
  }

  available() {
    const w = Atomics.load(this.index, 0);
    const r = Atomics.load(this.index, 1);
    return w >= r ? w - r : w + this.capacity - r;
  }

  send(message) {
    message.played = this.played;
    message.buffered = this.available();
    message.target = this.jitter.target;
    message.held = this.held;
    message.trimmed = this.trimmed;
    this.port.postMessage(message);
  }

  receive(m) {
    switch (m.type) {
      case 'data': this.append(m.channels); break;
      case 'end': this.ended = true; break;
      case 'watch': this.watched.push(m.frame); break;
      case 'stop': this.stop(m.fadeFrames); break;
      case 'pause': this.pause(); break;
      case 'resume': this.resume(); break;
      case 'volume': this.volume = m.volume; break;
      case 'status': this.send({ type: 'status', id: m.id, state: this.state }); break;
      case 'dispose': this.disposed = true; this.state = 'done'; break;
    }
  }

  /** Message transport: copies a posted chunk into the local ring. */
  append(channels) {
    const frames = channels[0].length;
    const room = this.capacity - 1 - this.available();
    const n = Math.min(frames, room);
    if (n < frames) this.send({ type: 'warning', code: 'overflow', message: 'ring full: ' + (frames - n) + ' frames dropped' });
    let w = this.index[0];
    const first = Math.min(n, this.capacity - w);
    for (let c = 0; c < this.channels; c++) {
      const src = channels[c] || channels[0];
      const base = c * this.capacity;
      this.data.set(src.subarray(0, first), base + w);
      if (n > first) this.data.set(src.subarray(first, n), base);
    }
    w += n;
    if (w >= this.capacity) w -= this.capacity;
    Atomics.store(this.index, 0, w);
  }

  stop(fadeFrames) {
    if (this.state === 'done' || this.state === 'fading') return;
    if (this.state === 'prebuffer' || fadeFrames <= 0) {
      this.flush();
      this.state = 'done';
      this.send({ type: 'stopped' });
      return;
    }
    this.state = 'fading';
    this.fadeTotal = fadeFrames;
    this.fadeDone = 0;
    this.send({ type: 'stopping' });
  }

  /** Fades out over the ramp, then plays silence without reading until resumed: the position stays where the fade ended. */
  pause() {
    if (this.state === 'playing' || this.state === 'prebuffer') {
      this.resumeTo = this.state;
      this.state = 'pausing';
      this.pauseLeft = this.ramp;
    }
  }

  resume() {
    if (this.state !== 'pausing' && this.state !== 'paused') return;
    // The fade-in starts where the fade-out got to (a resume during the fade-out goes back up from there).
    this.rampIn = this.state === 'pausing' ? this.ramp - this.pauseLeft + 1 : this.ramp;
    this.state = this.resumeTo;
    this.send({ type: 'playing' });
  }

  /** How many frames from the read position (up to limit, within what is buffered) are silence on every channel. */
  silentAhead(limit) {
    const n = Math.min(limit, this.available());
    let r = this.index[1];
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < this.channels; c++) {
        const x = this.data[c * this.capacity + r];
        if (x > this.silence || x < -this.silence) return i;
      }
      if (++r === this.capacity) r = 0;
    }
    return n;
  }

  /** Raised-cosine gain k frames into a fade of total frames (1 → 0). */
  fall(k, total) {
    return k >= total ? 0 : 0.5 * (1 + Math.cos((Math.PI * k) / total));
  }

  flush() {
    Atomics.store(this.index, 1, Atomics.load(this.index, 0));
  }

  /** Copies up to n frames from the ring into the outputs at offset; returns how many. */
  read(out, offset, n) {
    const take = Math.min(n, this.available());
    if (take === 0) return 0;
    let r = this.index[1];
    const first = Math.min(take, this.capacity - r);
    for (let c = 0; c < out.length; c++) {
      const base = Math.min(c, this.channels - 1) * this.capacity;
      out[c].set(this.data.subarray(base + r, base + r + first), offset);
      if (take > first) out[c].set(this.data.subarray(base, base + take - first), offset + first);
    }
    r += take;
    if (r >= this.capacity) r -= this.capacity;
    Atomics.store(this.index, 1, r);
    const from = this.played;
    this.played += take;
    // Only frames already in the ring: one still to arrive may come after an underrun.
    while (this.watched.length > 0 && this.watched[0] < this.played + Math.min(this.watchLead, this.available())) {
      const frame = this.watched.shift();
      this.send({ type: 'reached', frame, at: currentTime + (offset + Math.max(0, frame - from)) / sampleRate });
    }
    return take;
  }

  process(inputs, outputs) {
    if (this.disposed) return false;
    const out = outputs[0];
    const n = out[0].length;
    if (this.state === 'prebuffer' && this.jitter.ready(this.available(), this.ended, n)) {
      this.state = 'playing';
      if (this.started) this.send({ type: 'playing' });
    }
    let got = 0;
    if (this.state === 'prebuffer' && this.started) this.waited += n;
    if (this.state === 'playing' || this.state === 'pausing') {
      const pausing = this.state === 'pausing';
      const want = pausing ? Math.min(n, this.pauseLeft) : n;
      const pause = this.started && !pausing && this.rampIn === 0 ? this.silentAhead(2 * n + this.keepFrames) : 0;
      const hold = pause >= n && this.jitter.hold(this.available(), this.ended);
      if (hold) {
        this.held += n; // a longer pause while the ring fills: nothing read
      } else {
        // Only what this buffer added (held pauses, waits after underruns) is taken back: the speech's own pauses stay.
        if (pause >= 2 * n + this.keepFrames && this.held + this.waited - this.trimmed >= n && this.jitter.trim(this.available())) {
          if (!this.scratch.length || this.scratch[0].length < n) this.scratch = out.map(() => new Float32Array(n));
          this.read(this.scratch, 0, n); // a shorter pause: a quantum of its silence skipped
          this.trimmed += n;
        }
        got = this.read(out, 0, want);
      }
      if (got > 0 && !this.started) {
        this.started = true;
        this.send({ type: 'started', frame: currentFrame });
      }
      if (got > 0) {
        this.starving = false;
        if (!pausing) this.jitter.played(got);
      }
      for (let i = 0; i < got && this.rampIn > 0; i++, this.rampIn--) {
        const g = this.fall(this.rampIn - 1, this.ramp);
        for (let c = 0; c < out.length; c++) out[c][i] *= g;
      }
      if (pausing) {
        for (let i = 0; i < got; i++) {
          const g = this.fall(this.ramp - this.pauseLeft + i + 1, this.ramp);
          for (let c = 0; c < out.length; c++) out[c][i] *= g;
        }
        this.pauseLeft -= got;
        if (this.pauseLeft <= 0 || got < want) {
          this.state = 'paused';
          this.send({ type: 'paused' });
        }
      } else if (got < n && !hold) {
        if (this.ended) {
          this.state = 'done';
          this.send({ type: 'drained' });
          this.crossfade(out, got);
          this.applyVolume(out, got);
          return true;
        }
        if (!this.starving && this.started) {
          this.starving = true;
          this.rampIn = this.ramp;
          this.send({ type: 'underrun' });
          if (this.jitter.underrun()) {
            this.state = 'prebuffer';
            this.send({ type: 'buffering' });
          }
        }
      }
    } else if (this.state === 'fading') {
      got = this.read(out, 0, Math.min(n, this.fadeTotal - this.fadeDone));
      for (let i = 0; i < got; i++) {
        const g = this.fall(this.fadeDone + i + 1, this.fadeTotal);
        for (let c = 0; c < out.length; c++) out[c][i] *= g;
      }
      this.fadeDone += Math.min(n, this.fadeTotal - this.fadeDone);
      if (this.fadeDone >= this.fadeTotal) {
        this.flush();
        this.state = 'done';
        this.send({ type: 'stopped' });
        this.applyVolume(out, got);
        return true;
      }
    }
    this.crossfade(out, got);
    this.glideOut(out, got, n);
    this.applyVolume(out, n);
    this.sinceReport += n;
    if (this.sinceReport >= this.reportFrames && this.state !== 'done') {
      this.sinceReport = 0;
      this.send({ type: 'position' });
    }
    return true;
  }

  /** Audio coming back while a glide to silence is still going: the glide's tail is added under the fade-in (a crossfade, no step). */
  crossfade(out, got) {
    for (let i = 0; i < got && this.glide > 0 && this.glide < this.ramp; i++) {
      const g = this.fall(++this.glide, this.ramp);
      for (let c = 0; c < out.length; c++) out[c][i] += this.last[c] * g;
    }
  }

  /**
   * Where the audio stopped short of the quantum (an underrun, a pause), each channel glides from
   * its last sample to silence over the ramp instead of stepping there: no click.
   */
  glideOut(out, got, n) {
    if (got > 0) {
      for (let c = 0; c < out.length; c++) this.last[c] = out[c][got - 1];
      this.glide = 0;
    }
    if (got === n || this.state === 'done' || this.state === 'fading') return;
    for (let i = got; i < n && this.glide < this.ramp; i++) {
      const g = this.fall(++this.glide, this.ramp);
      for (let c = 0; c < out.length; c++) out[c][i] = this.last[c] * g;
    }
  }

  /** The output gain follows the volume smoothly (one pole, 10 ms): no zipper noise when it changes. */
  applyVolume(out, n) {
    if (this.gain === 1 && this.volume === 1) return;
    for (let i = 0; i < n; i++) {
      this.gain += (this.volume - this.gain) * this.smoothing;
      if (Math.abs(this.volume - this.gain) < 1e-6) this.gain = this.volume;
      for (let c = 0; c < out.length; c++) out[c][i] *= this.gain;
    }
  }
}
registerProcessor(${JSON.stringify(PROCESSOR_NAME)}, VoxpipeRingPlayer);
`;
