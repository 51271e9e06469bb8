/** Why a request was turned away, and when to try again. */
export interface Refusal {
  reason: 'rate' | 'concurrency';
  message: string;
  /** Whole seconds, for Retry-After. */
  retryAfter: number;
}

export interface LimiterOptions {
  requestsPerSecond: number;
  burst: number;
  concurrentStreamsPerKey: number;
  maxConcurrentStreams: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updated: number;
  streams: number;
}

/**
 * Per-key request rate (a token bucket: `burst` tokens, refilled at
 * `requestsPerSecond`) and concurrent-stream limits, plus a server-wide
 * stream cap. `admit` takes a token and a stream slot, or says why not;
 * the caller gives the slot back with the function it returns.
 */
export class Limiter {
  readonly #o: LimiterOptions;
  readonly #buckets = new Map<string, Bucket>();
  #streams = 0;

  constructor(options: LimiterOptions) {
    this.#o = options;
  }

  get openStreams(): number {
    return this.#streams;
  }

  /** Takes one request token for `key` (no stream slot): for non-streaming calls. */
  take(key: string): Refusal | undefined {
    const bucket = this.#refill(key);
    if (bucket.tokens < 1) {
      const wait = (1 - bucket.tokens) / this.#o.requestsPerSecond;
      return { reason: 'rate', message: `Too many requests for this key: at most ${this.#o.requestsPerSecond}/s (burst ${this.#o.burst})`, retryAfter: Math.max(1, Math.ceil(wait)) };
    }
    bucket.tokens -= 1;
    return undefined;
  }

  /** Takes a token and a stream slot for `key`; returns the release function, or a refusal. */
  admit(key: string): { release: () => void } | Refusal {
    const bucket = this.#refill(key);
    if (bucket.streams >= this.#o.concurrentStreamsPerKey) {
      return { reason: 'concurrency', message: `Too many streams open for this key: at most ${this.#o.concurrentStreamsPerKey} at once`, retryAfter: 1 };
    }
    if (this.#streams >= this.#o.maxConcurrentStreams) {
      return { reason: 'concurrency', message: `The server is at its limit of ${this.#o.maxConcurrentStreams} streams`, retryAfter: 1 };
    }
    const refused = this.take(key);
    if (refused) return refused;
    bucket.streams++;
    this.#streams++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        bucket.streams--;
        this.#streams--;
        this.#prune(key, bucket);
      },
    };
  }

  #refill(key: string): Bucket {
    const now = this.#o.now ? this.#o.now() : performance.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.#o.burst, updated: now, streams: 0 };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.updated) / 1000;
    bucket.tokens = Math.min(this.#o.burst, bucket.tokens + elapsed * this.#o.requestsPerSecond);
    bucket.updated = now;
    return bucket;
  }

  /** Forgets idle, full buckets so memory does not grow with the number of keys ever seen. */
  #prune(key: string, bucket: Bucket): void {
    if (bucket.streams === 0 && this.#buckets.size > 1000 && bucket.tokens >= this.#o.burst) this.#buckets.delete(key);
  }
}
