/**
 * A first-in first-out store of planar float32 audio: push chunks on the
 * back, take whole runs of frames off the front. Storage grows to the most
 * it ever held and is reused. Internal to the stages (frames, fade).
 */
export class PcmQueue {
  #channels: Float32Array[];
  #start = 0;
  #end = 0;

  constructor(readonly channelCount: number, capacity = 1024) {
    this.#channels = Array.from({ length: channelCount }, () => new Float32Array(Math.max(1, capacity)));
  }

  /** Frames held. */
  get length(): number {
    return this.#end - this.#start;
  }

  push(channels: readonly Float32Array[], from = 0, to = channels[0]?.length ?? 0): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.#end + n > this.#channels[0].length) this.#makeRoom(n);
    for (let c = 0; c < this.channelCount; c++) this.#channels[c].set(channels[c].subarray(from, to), this.#end);
    this.#end += n;
  }

  /** Removes the first `n` frames (at most `length`) and returns them as fresh arrays. */
  take(n: number): Float32Array[] {
    const count = Math.min(n, this.length);
    const out = this.#channels.map((c) => c.slice(this.#start, this.#start + count));
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return out;
  }

  /** Forgets everything held. */
  clear(): void {
    this.#start = this.#end = 0;
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
