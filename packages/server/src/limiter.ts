/** Which store made a decision: this process's memory, the shared Redis, or this process standing in while Redis is unreachable. */
export type LimiterStoreName = 'memory' | 'redis' | 'local-fallback';

/** Why a request was turned away, and when to try again. */
export interface Refusal {
  /** `unavailable`: the shared store is unreachable and the server was told to refuse rather than decide alone. */
  reason: 'rate' | 'concurrency' | 'unavailable';
  message: string;
  /** Whole seconds, for Retry-After. */
  retryAfter: number;
  store?: LimiterStoreName;
}

/** An admitted stream: its slot is held until `release` (called once; later calls do nothing). */
export interface Admission {
  release: () => void;
  store?: LimiterStoreName;
}

/**
 * Per-key request rate and open-stream limits, and the server's own stream
 * cap, whatever store keeps them: `MemoryLimiter` (one process, the
 * default) or `redisLimiter` (shared by every server on one Redis). The
 * middleware (`rateLimit`, `streamSlot`) awaits either.
 */
export interface Limiter {
  /** Streams open on this server now. */
  readonly openStreams: number;
  /** The store deciding now. */
  readonly store: LimiterStoreName;
  /** Takes one request token for `key` (no stream slot): for non-streaming calls. */
  take(key: string): Refusal | undefined | Promise<Refusal | undefined>;
  /** Takes a token and a stream slot for `key`; returns the release function, or a refusal. */
  admit(key: string): Admission | Refusal | Promise<Admission | Refusal>;
  /** Stops timers and lets go of connections. */
  close?(): Promise<void>;
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
 * The in-process `Limiter` (the default): per-key request rate (a token
 * bucket: `burst` tokens, refilled at `requestsPerSecond`) and
 * concurrent-stream limits, plus a server-wide stream cap. `admit` takes a
 * token and a stream slot, or says why not; the caller gives the slot back
 * with the function it returns. Decides synchronously.
 *
 * ```ts
 * const limiter = new MemoryLimiter(serverLimits({ burst: 5 }));
 * const admitted = limiter.admit(keyId); // { release } or { reason, retryAfter, … }
 * ```
 */
export class MemoryLimiter implements Limiter {
  readonly #o: LimiterOptions;
  readonly #buckets = new Map<string, Bucket>();
  #streams = 0;

  constructor(options: LimiterOptions) {
    this.#o = options;
  }

  get openStreams(): number {
    return this.#streams;
  }

  get store(): LimiterStoreName {
    return 'memory';
  }

  /** Takes one request token for `key` (no stream slot): for non-streaming calls. */
  take(key: string): Refusal | undefined {
    const bucket = this.#refill(key);
    if (bucket.tokens < 1) {
      const wait = (1 - bucket.tokens) / this.#o.requestsPerSecond;
      return rateRefusal(this.#o, wait, 'memory');
    }
    bucket.tokens -= 1;
    return undefined;
  }

  /** Takes a token and a stream slot for `key`; returns the release function, or a refusal. */
  admit(key: string): { release: () => void } | Refusal {
    const bucket = this.#refill(key);
    if (bucket.streams >= this.#o.concurrentStreamsPerKey) {
      return keyStreamsRefusal(this.#o, 'memory');
    }
    if (this.#streams >= this.#o.maxConcurrentStreams) return serverStreamsRefusal(this.#o);
    const refused = this.take(key);
    if (refused) return refused;
    bucket.streams++;
    this.#streams++;
    let released = false;
    return {
      store: 'memory',
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

/** The refusal for a key past its request rate; `waitS` until its next token. */
export function rateRefusal(o: Pick<LimiterOptions, 'requestsPerSecond' | 'burst'>, waitS: number, store: LimiterStoreName): Refusal {
  return { reason: 'rate', message: `Too many requests for this key: at most ${o.requestsPerSecond}/s (burst ${o.burst})`, retryAfter: Math.max(1, Math.ceil(waitS)), store };
}

/** The refusal for a key with all its streams open. */
export function keyStreamsRefusal(o: Pick<LimiterOptions, 'concurrentStreamsPerKey'>, store: LimiterStoreName): Refusal {
  return { reason: 'concurrency', message: `Too many streams open for this key: at most ${o.concurrentStreamsPerKey} at once`, retryAfter: 1, store };
}

/** The refusal for a server with all its streams open (a cap on each server, whatever the store). */
export function serverStreamsRefusal(o: Pick<LimiterOptions, 'maxConcurrentStreams'>): Refusal {
  return { reason: 'concurrency', message: `The server is at its limit of ${o.maxConcurrentStreams} streams`, retryAfter: 1 };
}

/** One limiter decision, for metrics: what was decided, and which store decided it (`server`: the per-server stream cap). */
export interface LimiterDecision {
  outcome: 'allowed' | Refusal['reason'];
  store: LimiterStoreName | 'server';
}

/**
 * The same limiter, telling `observe` each decision it makes (for metrics),
 * so every route that uses it is counted.
 *
 * ```ts
 * const limiter = observedLimiter(new MemoryLimiter(limits), (d) => metrics.decision(d));
 * ```
 */
export function observedLimiter(limiter: Limiter, observe: (decision: LimiterDecision) => void): Limiter {
  const refused = (r: Refusal) => observe({ outcome: r.reason, store: r.store ?? 'server' });
  return {
    get openStreams() {
      return limiter.openStreams;
    },
    get store() {
      return limiter.store;
    },
    async take(key) {
      const store = limiter.store;
      const refusal = await limiter.take(key);
      if (refusal) refused(refusal);
      else observe({ outcome: 'allowed', store });
      return refusal;
    },
    async admit(key) {
      const admitted = await limiter.admit(key);
      if ('reason' in admitted) refused(admitted);
      else observe({ outcome: 'allowed', store: admitted.store ?? limiter.store });
      return admitted;
    },
    close: () => limiter.close?.() ?? Promise.resolve(),
  };
}
