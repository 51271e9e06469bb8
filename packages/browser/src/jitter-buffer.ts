// The worklet sink's jitter buffer: how much audio to gather before playing,
// and again after the stream ran dry. Kept as plain JavaScript source, like
// the processor it is part of (worklet-processor.ts), so the same code runs in
// the AudioWorklet and in Node (tests, bench/jitter.ts).
//
// Adaptive (the default): the target starts at the prebuffer; after an
// underrun it grows by the time the ring stayed dry (by a quarter at least, up
// to maxFrames), and after every decayFrames of audio played with no underrun
// it falls back by a quarter (down to minFrames). The level follows the target
// through the pauses of speech: a pause is held longer while the ring is below
// target, so waiting for the network is heard as a longer pause rather than a
// break in a word; once the ring holds more than target + margin, later long
// pauses give back the waiting the buffer added (held pauses, waits after
// underruns), and no more: the speech's own pauses stay. Fixed: the prebuffer
// first, then `rebufferFrames` after each underrun (0: play on at once).

/** What the processor's jitter buffer is set up with, in frames at the context's rate. */
export interface JitterSettings {
  adaptive: boolean;
  /** The target to start with. */
  prebufferFrames: number;
  /** Fixed mode: the target after an underrun (0: play on at once, no waiting). */
  rebufferFrames: number;
  /** Adaptive mode: the least and most the target may be. */
  minFrames: number;
  maxFrames: number;
  /** Adaptive mode: frames of steady play after which the target shrinks by a quarter. */
  decayFrames: number;
  /** Adaptive mode: a pause is shortened only while the ring holds more than the target and this many frames. */
  marginFrames: number;
}

/** The class `VoxpipeJitter(settings: JitterSettings)`, as source: `ready(available, ended)`, `underrun()` (true: gather again), `played(frames)`, `target`. */
export const JITTER_SOURCE = String.raw`
class VoxpipeJitter {
  constructor(o) {
    this.adaptive = !!o.adaptive;
    this.target = o.prebufferFrames;
    this.rebufferFrames = o.rebufferFrames;
    this.min = Math.min(o.minFrames, o.prebufferFrames);
    this.max = Math.max(o.maxFrames, o.prebufferFrames);
    this.decayFrames = Math.max(1, o.decayFrames);
    this.margin = o.marginFrames || 0;
    this.steady = 0;
    this.waiting = false; // gathering again after an underrun
    this.dry = 0; // frames the ring stayed empty since the underrun
  }

  /**
   * Whether playback may start (or go on after an underrun) with this much audio gathered, asked once
   * per render quantum of n frames. Adaptive: when audio comes back after an underrun, the target grows
   * by the time the ring stayed dry (by a quarter at least), so the same stall would now be covered.
   */
  ready(available, ended, n) {
    if (this.waiting && this.adaptive) {
      if (available === 0 && !ended) this.dry += n || 128;
      else if (this.dry > 0) {
        this.target = Math.min(this.max, Math.max(this.target + this.dry, 1.25 * this.target));
        this.dry = 0;
      }
    }
    const go = ended || available >= this.target;
    if (go) this.waiting = false;
    return go;
  }

  /** The ring ran dry while playing; returns whether to gather the (new) target again before playing on. */
  underrun() {
    this.steady = 0;
    if (this.adaptive) {
      this.waiting = true;
      this.dry = 0;
      return true;
    }
    if (this.rebufferFrames > 0) {
      this.target = this.rebufferFrames;
      return true;
    }
    return false;
  }

  /**
   * In a pause of the speech (the next quantum is silence anyway): whether to hold the pause a quantum
   * longer without reading, because the ring is below target. Speech then goes on with more in hand,
   * and the wait is heard as a slightly longer pause instead of an underrun.
   */
  hold(available, ended) {
    return this.adaptive && !ended && available < this.target;
  }

  /** In a long pause: whether to skip a quantum of its silence because the ring holds more than the target and the margin: latency to win back. */
  trim(available) {
    return this.adaptive && available > this.target + this.margin;
  }

  /** Frames played with the ring never dry: a steady stream lowers the target step by step. */
  played(frames) {
    if (!this.adaptive) return;
    this.steady += frames;
    while (this.steady >= this.decayFrames) {
      this.steady -= this.decayFrames;
      this.target = Math.max(this.min, Math.floor(0.75 * this.target));
    }
  }
}
`;
