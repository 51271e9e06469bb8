import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LimiterDecision } from './limiter.js';

/** What the metrics read when they are scraped: the engine's counters (when it has any), open streams, the cache. */
export interface MetricSources {
  /** The engine's own counters, when it keeps them (the espeak engine: `stats()`). */
  engineStats?(): { workers?: number; busy?: number; queued?: number } | undefined;
  openStreams(): number;
  idleCuts(): number;
  cacheBytes?(): number;
}

/** The server's Prometheus metrics and the calls that feed them. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** A finished response: its status, error code, bytes and times. */
  response(line: { path: string; status: number; code?: string; model?: string; format?: string; bytes: number; ttfbMs?: number; cached?: boolean }): void;
  decision(decision: LimiterDecision): void;
  /** One engine stream made whole: its audio length and the wall time it took. */
  synthesis(audioSeconds: number, wallSeconds: number): void;
  cache(event: 'hit' | 'miss' | 'eviction' | 'stored'): void;
  /** The text exposition (`text/plain; version=0.0.4`). */
  scrape(): Promise<string>;
  readonly contentType: string;
}

/** Paths named in the metrics as they are; anything else is `other` (a label per scanned URL would grow without bound). */
const KNOWN_PATHS = /^\/(v1\/[a-z/-]+|healthz|readyz|metrics|demo(-[\w-]+)?\.js)?$/;

/**
 * The server's metrics in their own prom-client registry (so several
 * servers in one process do not collide), with the process's defaults
 * (CPU, memory, event-loop lag). Names start `voxpipe_`.
 *
 * ```ts
 * const metrics = serverMetrics({ openStreams: () => streams.size, idleCuts: () => streams.idleCuts });
 * metrics.response({ path: '/v1/tts/stream', status: 200, model: 'aura-lite', format: 'pcm', bytes: 4800, ttfbMs: 12 });
 * ```
 */
export function serverMetrics(sources: MetricSources): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'voxpipe_process_' });
  const ttfb = new Histogram({
    name: 'voxpipe_ttfb_seconds',
    help: 'Time from a stream request to its first body byte, by model and format (cache hits included; see voxpipe_cache_hits_total)',
    labelNames: ['model', 'format', 'cache'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const responses = new Counter({ name: 'voxpipe_responses_total', help: 'Responses finished, by path, status and error code', labelNames: ['path', 'status', 'code'], registers: [registry] });
  const bytesOut = new Counter({ name: 'voxpipe_bytes_out_total', help: 'Audio body bytes sent, by format', labelNames: ['format'], registers: [registry] });
  const decisions = new Counter({
    name: 'voxpipe_limiter_decisions_total',
    help: 'Limiter decisions: allowed, rate, concurrency, unavailable; by the store that decided (memory, redis, local-fallback while Redis is unreachable, server for the per-server stream cap)',
    labelNames: ['outcome', 'store'],
    registers: [registry],
  });
  const rtf = new Histogram({
    name: 'voxpipe_synthesis_realtime_factor',
    help: 'Seconds of audio an engine stream made per second of wall time, from its request to its last sample (above 1: faster than real time; a stream read at the pace of playback stays near the pace it is read at)',
    buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  const cacheEvents = {
    hit: new Counter({ name: 'voxpipe_cache_hits_total', help: 'Stream requests served from the audio cache, without the engine', registers: [registry] }),
    miss: new Counter({ name: 'voxpipe_cache_misses_total', help: 'Stream requests the audio cache did not hold', registers: [registry] }),
    eviction: new Counter({ name: 'voxpipe_cache_evictions_total', help: 'Streams dropped from the audio cache to stay within its byte budget', registers: [registry] }),
    stored: new Counter({ name: 'voxpipe_cache_stored_total', help: 'Complete streams put into the audio cache', registers: [registry] }),
  };
  new Gauge({ name: 'voxpipe_cache_bytes', help: 'Bytes held by the audio cache', registers: [registry], collect() { this.set(sources.cacheBytes?.() ?? 0); } });
  new Gauge({ name: 'voxpipe_streams_open', help: 'Streams open on this server', registers: [registry], collect() { this.set(sources.openStreams()); } });
  new Gauge({ name: 'voxpipe_stream_idle_cuts', help: 'Streams ended because their client read nothing for the idle limit (a counter kept by the server)', registers: [registry], collect() { this.set(sources.idleCuts()); } });
  const stat = (pick: 'workers' | 'busy' | 'queued') =>
    function collect(this: Gauge) {
      const value = sources.engineStats?.()?.[pick];
      if (typeof value === 'number') this.set(value);
    };
  new Gauge({ name: 'voxpipe_engine_workers', help: 'Engine worker threads alive', registers: [registry], collect: stat('workers') });
  new Gauge({ name: 'voxpipe_engine_workers_busy', help: 'Engine workers synthesizing now', registers: [registry], collect: stat('busy') });
  new Gauge({ name: 'voxpipe_engine_queue_depth', help: 'Engine segments waiting for a worker', registers: [registry], collect: stat('queued') });

  return {
    registry,
    contentType: registry.contentType,
    response(line) {
      const path = KNOWN_PATHS.test(line.path) ? line.path : 'other';
      responses.inc({ path, status: String(line.status), code: line.code ?? '' });
      if (line.format) {
        bytesOut.inc({ format: line.format }, line.bytes);
        if (line.ttfbMs !== undefined && line.status < 300) ttfb.observe({ model: line.model ?? '', format: line.format, cache: line.cached ? 'hit' : 'miss' }, line.ttfbMs / 1000);
      }
    },
    decision(decision) {
      decisions.inc({ outcome: decision.outcome, store: decision.store });
    },
    synthesis(audioSeconds, wallSeconds) {
      if (audioSeconds > 0 && wallSeconds > 0) rtf.observe(audioSeconds / wallSeconds);
    },
    cache(event) {
      cacheEvents[event].inc();
    },
    scrape: () => registry.metrics(),
  };
}
