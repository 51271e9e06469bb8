// The main thread's end of the worklet's ring: writes frames and knows how
// much room is left, over a SharedArrayBuffer or by posting chunks.

/** Writes planar frames towards the worklet's ring. */
export interface RingWriter {
  readonly shared: boolean;
  /** Frames that fit now. */
  free(): number;
  /** Writes `frames` frames of `channels` from `offset`; `frames` ≤ free(). */
  write(channels: readonly Float32Array[], offset: number, frames: number): void;
  /** The worklet's count of frames read so far (from its reports). */
  consumed(played: number): void;
}

/** Whether a SharedArrayBuffer ring can be used here (the page is crossOriginIsolated). */
export function canShareRing(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  return g.crossOriginIsolated === true && typeof g.SharedArrayBuffer === 'function';
}

/** The shared buffers to pass to the processor, and the writer over them. */
export function sharedRing(channels: number, capacity: number): { writer: RingWriter; buffers: { index: SharedArrayBuffer; data: SharedArrayBuffer } } {
  const buffers = { index: new SharedArrayBuffer(8), data: new SharedArrayBuffer(4 * channels * capacity) };
  const index = new Int32Array(buffers.index);
  const data = new Float32Array(buffers.data);
  const available = () => {
    const w = Atomics.load(index, 0);
    const r = Atomics.load(index, 1);
    return w >= r ? w - r : w + capacity - r;
  };
  return {
    buffers,
    writer: {
      shared: true,
      free: () => capacity - 1 - available(),
      write(source, offset, frames) {
        let w = Atomics.load(index, 0);
        const first = Math.min(frames, capacity - w);
        for (let c = 0; c < channels; c++) {
          const from = source[c];
          data.set(from.subarray(offset, offset + first), c * capacity + w);
          if (frames > first) data.set(from.subarray(offset + first, offset + frames), c * capacity);
        }
        w += frames;
        if (w >= capacity) w -= capacity;
        Atomics.store(index, 0, w);
      },
      consumed() {},
    },
  };
}

/** A writer that posts copies of each piece to the processor, which keeps its own ring. */
export function messageRing(port: MessagePort, channels: number, capacity: number): RingWriter {
  let written = 0;
  let read = 0;
  return {
    shared: false,
    free: () => capacity - 1 - (written - read),
    write(source, offset, frames) {
      const copies: Float32Array[] = [];
      for (let c = 0; c < channels; c++) copies.push(source[c].slice(offset, offset + frames));
      port.postMessage({ type: 'data', channels: copies }, copies.map((x) => x.buffer as ArrayBuffer));
      written += frames;
    },
    consumed(played) {
      read = Math.max(read, played);
    },
  };
}
