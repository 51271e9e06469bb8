/** Bytes per shared buffer: about 34 chunks of 20 ms of 24 kHz stereo s16. */
const SLAB_BYTES = 64 * 1024;
/** Larger requests get a buffer of their own: a slab holds at least eight. */
const LARGEST = SLAB_BYTES / 8;

let slab = new ArrayBuffer(0);
let used = 0;

/**
 * A zeroed byte array for one output chunk, carved from a shared 64 KiB
 * buffer as Node's Buffer pool does: a view costs a twentieth of an
 * ArrayBuffer of its own, which is most of what encoding a 20 ms chunk
 * costs otherwise. Views never overlap, each starts 8-byte aligned (an
 * Int16Array, Float32Array or Float64Array fits on it), and a buffer is
 * never reused: a view keeps its whole buffer alive, so whoever keeps a
 * chunk alone for long or transfers its buffer to a worker copies it
 * (`slice()`) first. Internal to the stages that make bytes (pcmEncode).
 *
 * ```ts
 * const bytes = slabBytes(frames * 2); // then write s16 samples into it
 * ```
 */
export function slabBytes(length: number): Uint8Array {
  if (length > LARGEST) return new Uint8Array(length);
  if (used + length > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, length);
  used += (length + 7) & ~7;
  return bytes;
}
