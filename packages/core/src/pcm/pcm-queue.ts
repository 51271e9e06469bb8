import type { PcmChunk, WordMark } from './pcm.js';

/**
 * A first-in first-out store of planar float32 audio: push chunks on the
 * back, take whole runs of frames off the front. Storage grows to the most
 * it ever held and is reused. Marks pushed with the frames come off with
 * their frames, on the same sample (`takeChunk`). Internal to the stages
 * (frames, fade).
 */
export class PcmQueue {
  #channels: Float32Array[];
  #start = 0;
  #end = 0;
  /** Marks held, each with its frame counted from the first frame ever pushed. */
  #marks: WordMark[] = [];
  /** Frames ever taken off the front (or forgotten): the stream position of the first frame held. */
  #taken = 0;

  constructor(readonly channelCount: number, capacity = 1024) {
    this.#channels = Array.from({ length: channelCount }, () => new Float32Array(Math.max(1, capacity)));
  }

  /** Frames held. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Pushes frames `from` … `to` of `channels`, and the marks among `marks` (frames counted in `channels`) that sit on them. */
  push(channels: readonly Float32Array[], from = 0, to = channels[0]?.length ?? 0, marks?: readonly WordMark[]): void {
    const n = to - from;
    if (n <= 0) return;
    if (marks) {
      const at = this.#taken + this.length - from;
      for (const mark of marks) if (mark.frame >= from && mark.frame < to) this.#marks.push({ ...mark, frame: at + mark.frame });
    }
    if (this.#end + n > this.#channels[0].length) this.#makeRoom(n);
    const whole = from === 0 && to === channels[0].length; // the usual case: no view to make
    for (let c = 0; c < this.channelCount; c++) this.#channels[c].set(whole ? channels[c] : channels[c].subarray(from, to), this.#end);
    this.#end += n;
  }

  /** Removes the first `n` frames (at most `length`) and returns them as fresh arrays; their marks are forgotten (see `takeChunk`). */
  take(n: number): Float32Array[] {
    const count = Math.min(n, this.length);
    const out = this.#channels.map((c) => c.slice(this.#start, this.#start + count));
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    this.#takeMarks(count);
    return out;
  }

  /**
   * Removes the first `n` frames (at most `length`) as a chunk at
   * `sampleRate`, with the marks that sit on them; into the arrays of
   * `into` (one per channel, no longer read by anyone) when they have
   * exactly that many frames, else into fresh ones.
   */
  takeChunk(n: number, sampleRate: number, into?: readonly Float32Array[]): PcmChunk {
    const count = Math.min(n, this.length);
    const marks = this.#takeMarks(count);
    const channels: Float32Array[] = [];
    const reuse = into !== undefined && into.length === this.channelCount && into[0].length === count;
    for (let c = 0; c < this.channelCount; c++) {
      const held = this.#channels[c];
      if (reuse) {
        into[c].set(held.subarray(this.#start, this.#start + count));
        channels.push(into[c]);
      } else {
        channels.push(held.slice(this.#start, this.#start + count));
      }
    }
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    const chunk: PcmChunk = { sampleRate, channels };
    if (marks) chunk.marks = marks;
    return chunk;
  }

  /** Forgets everything held, marks included. */
  clear(): void {
    this.#taken += this.length;
    this.#start = this.#end = 0;
    this.#marks.length = 0;
  }

  /** Takes the marks on the next `count` frames, numbered from the first of them; advances the position. */
  #takeMarks(count: number): WordMark[] | undefined {
    const first = this.#taken;
    this.#taken += count;
    if (this.#marks.length === 0) return undefined;
    let i = 0;
    while (i < this.#marks.length && this.#marks[i].frame < this.#taken) i++;
    if (i === 0) return undefined;
    return this.#marks.splice(0, i).map((mark) => ({ ...mark, frame: mark.frame - first }));
  }

  #makeRoom(n: number): void {
    const held = this.length;
    const capacity = this.#channels[0].length;
    if (held + n <= capacity) {
      for (const c of this.#channels) c.copyWithin(0, this.#start, this.#end);
    } else {
      const size = Math.max(capacity * 2, held + n);
      this.#channels = this.#channels.map((c) => {
        const grown = new Float32Array(size);
        grown.set(c.subarray(this.#start, this.#end));
        return grown;
      });
    }
    this.#start = 0;
    this.#end = held;
  }
}
