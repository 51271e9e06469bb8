/** What the cache tells as it works (for metrics). */
export type AudioCacheEvent = 'hit' | 'miss' | 'eviction' | 'stored';

/** Complete streams by their ETag, least recently used first out. */
export interface AudioCache {
  /** The stream's bytes, or undefined (counted as a hit or a miss). */
  get(tag: string): Uint8Array | undefined;
  /** Keeps a complete stream, dropping the least recently used to stay within the budget; a stream larger than the whole budget is not kept. */
  put(tag: string, bytes: Uint8Array): void;
  /** The budget, bytes. */
  readonly maxBytes: number;
  /**
   * Streams being made are recorded for the cache within the same budget
   * again: `reserve(n)` says whether `n` more bytes may be recorded (and
   * counts them), `unreserve(n)` gives them back when the recording ends or
   * is dropped. Memory for the cache stays under twice its budget.
   */
  reserve(n: number): boolean;
  unreserve(n: number): void;
  /** Bytes held now. */
  readonly bytes: number;
  /** Streams held now. */
  readonly size: number;
}

/**
 * An LRU of complete audio streams within a byte budget, keyed by the
 * stream's strong ETag (the normalized request and the engine's build: the
 * same tag is the same bytes), so a repeated request is answered from
 * memory, byte-identical, without the engine. `onEvent` sees hits, misses,
 * evictions and stores.
 *
 * ```ts
 * const cache = audioCache({ maxBytes: 64 * 1024 * 1024 });
 * const hit = cache.get(plan.tag); // Uint8Array | undefined
 * ```
 */
export function audioCache(options: { maxBytes: number; onEvent?: (event: AudioCacheEvent) => void }): AudioCache {
  const { maxBytes, onEvent } = options;
  const entries = new Map<string, Uint8Array>();
  let bytes = 0;
  let recording = 0;
  return {
    maxBytes,
    reserve(n) {
      if (recording + n > maxBytes) return false;
      recording += n;
      return true;
    },
    unreserve(n) {
      recording -= n;
    },
    get bytes() {
      return bytes;
    },
    get size() {
      return entries.size;
    },
    get(tag) {
      const found = entries.get(tag);
      onEvent?.(found ? 'hit' : 'miss');
      if (!found) return undefined;
      // Most recently used goes last.
      entries.delete(tag);
      entries.set(tag, found);
      return found;
    },
    put(tag, stream) {
      if (stream.byteLength === 0 || stream.byteLength > maxBytes) return;
      const old = entries.get(tag);
      if (old) {
        entries.delete(tag);
        bytes -= old.byteLength;
      }
      for (const [oldest, held] of entries) {
        if (bytes + stream.byteLength <= maxBytes) break;
        entries.delete(oldest);
        bytes -= held.byteLength;
        onEvent?.('eviction');
      }
      entries.set(tag, stream);
      bytes += stream.byteLength;
      onEvent?.('stored');
    },
  };
}
