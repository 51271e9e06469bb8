import { availableParallelism } from 'node:os';
import {
  ReadableStream,
  VoxpipeError,
  pcmTimeStrategy,
  type Engine,
  type EngineVoice,
  type PcmChunk,
  type SynthesisRequest,
} from '@voxpipe/core';
import { WorkerPool, type JobHandle, type WorkerStartup } from './pool.js';
import type { WorkerTestHooks } from './protocol.js';
import { semitonesToPitch, speedToRate } from './prosody.js';
import { DEFAULT_SEGMENT_CHARS, splitSegments } from './segment.js';
import { ESPEAK_VOICES, findVoice } from './voices.js';

/** The rate of every chunk espeak gives. */
export const ESPEAK_SAMPLE_RATE = 22050;
/** Audio buffered per stream before the next segment waits for the reader. */
const HIGH_WATER_MS = 1000;

export interface EspeakEngineOptions {
  /** Worker threads, each with its own espeak instance (~75 MB). Default: the number of cores. */
  workers?: number;
  /** Synthesize a word in each worker at start, so the first request is fast. Default true. */
  warm?: boolean;
  /** Longest text segment synthesized in one go, in characters (a digit counts as 6); bounds memory per stream. Default 200. */
  segmentChars?: number;
}


/** A request with test-only hooks; never set `__test` outside tests. */
export interface EspeakSynthesisRequest extends SynthesisRequest {
  /** Test only: make the worker crash, fail or pause while synthesizing this request's first segment. */
  __test?: WorkerTestHooks;
}

/** Counters for tests and monitoring. */
export interface EspeakEngineStats {
  /** Live worker threads. */
  workers: number;
  /** Workers synthesizing now. */
  busy: number;
  /** Segments waiting for a worker. */
  queued: number;
  /** Streams not yet finished. */
  active: number;
  /** Audio produced but not yet read, summed over unfinished streams, ms. */
  bufferedMs: number;
  /** Streams accepted (valid requests). */
  started: number;
  /** Streams that delivered all their audio. */
  completed: number;
  /** Streams cancelled by the reader or aborted by the signal. */
  cancelled: number;
  /** Streams that ended in an error (worker crash, synthesis failure, engine closed). */
  failed: number;
  /** Jobs a worker stopped part-way because their stream was cancelled. */
  stoppedEarly: number;
  /** Workers that died and were replaced. */
  crashed: number;
}

/** The espeak engine: an `Engine` plus counters and start-up figures. */
export interface EspeakEngine extends Engine {
  /** As `Engine.synthesize`; also takes the test-only `__test` hooks. */
  synthesize(request: EspeakSynthesisRequest): ReadableStream<PcmChunk>;
  stats(): EspeakEngineStats;
  /** Wall time `createEspeakEngine` took, ms. */
  readonly startupMs: number;
  /** Per worker: wasm load and warm-up times. */
  readonly workerStartups: readonly WorkerStartup[];
}

interface StreamEntry {
  fail(error: VoxpipeError): void;
  /** Audio enqueued but not yet read, ms. */
  bufferedMs(): number;
}

/**
 * Starts the embedded eSpeak NG engine: a pool of worker threads (one wasm
 * instance each), so synthesis never blocks the event loop. Use it as the
 * server's local engine or to speak text with no network at all. Audio is
 * mono float32 at 22050 Hz in ~100 ms chunks; always `close()` it.
 *
 * ```ts
 * const engine = await createEspeakEngine({ workers: 2 });
 * const audio = engine.synthesize({ text: 'Hello world', voice: 'en-us+f3' });
 * ```
 */
export async function createEspeakEngine(options: EspeakEngineOptions = {}): Promise<EspeakEngine> {
  const o = checkOptions(options);
  const begin = performance.now();
  const pool = await WorkerPool.start(o.workers ?? availableParallelism(), o.warm);
  const startupMs = performance.now() - begin;
  const counts = { started: 0, completed: 0, cancelled: 0, failed: 0 };
  const active = new Set<StreamEntry>();
  let closed = false;

  function synthesize(request: EspeakSynthesisRequest): ReadableStream<PcmChunk> {
    let segments: string[] = [];
    let next = 0;
    let handle: JobHandle | undefined;
    let finished = false;
    let settlePull: (() => void) | undefined;
    let controller!: ReadableStreamDefaultController<PcmChunk>;
    let job: { voice: string; rate: number; pitch: number } | undefined;
    const signal = request.signal;

    const finish = (outcome: 'completed' | 'cancelled' | 'failed'): void => {
      if (finished) return;
      finished = true;
      counts[outcome]++;
      active.delete(entry);
      signal?.removeEventListener('abort', onAbort);
      handle?.cancel();
      handle = undefined;
      settlePull?.();
      settlePull = undefined;
    };
    const entry: StreamEntry = {
      fail(error) {
        if (finished) return;
        finish('failed');
        controller.error(error);
      },
      bufferedMs() {
        return HIGH_WATER_MS - (controller.desiredSize ?? HIGH_WATER_MS);
      },
    };
    function onAbort(): void {
      if (finished) return;
      finish('cancelled');
      controller.error(new VoxpipeError('aborted', 'Synthesis was aborted', { cause: signal?.reason }));
    }

    return new ReadableStream<PcmChunk>(
      {
        start(c) {
          controller = c;
          try {
            if (closed) throw new VoxpipeError('server', 'The espeak engine is closed');
            job = checkRequest(request);
            segments = splitSegments(request.text, o.segmentChars);
          } catch (error) {
            finished = true;
            c.error(error);
            return;
          }
          counts.started++;
          active.add(entry);
          if (signal?.aborted) return onAbort();
          signal?.addEventListener('abort', onAbort, { once: true });
        },
        pull(c) {
          if (finished || !job || next >= segments.length) return;
          const text = segments[next];
          const test = next === 0 ? request.__test : undefined;
          next++;
          return new Promise<void>((resolve) => {
            settlePull = resolve;
            handle = pool.submit(
              { text, voice: job!.voice, rate: job!.rate, pitch: job!.pitch, ...(test ? { test } : {}) },
              {
                chunk(samples) {
                  if (!finished) c.enqueue({ sampleRate: ESPEAK_SAMPLE_RATE, channels: [samples] });
                },
                done() {
                  handle = undefined;
                  if (next >= segments.length) {
                    finish('completed');
                    c.close();
                  }
                  settlePull = undefined;
                  resolve();
                },
                fail(error) {
                  handle = undefined;
                  entry.fail(error);
                },
              },
            );
          });
        },
        cancel() {
          finish('cancelled');
        },
      },
      pcmTimeStrategy(HIGH_WATER_MS),
    );
  }

  return {
    name: 'espeak',
    sampleRate: ESPEAK_SAMPLE_RATE,
    startupMs,
    workerStartups: pool.startups,
    voices(): readonly EngineVoice[] {
      return ESPEAK_VOICES.map(({ id, language, gender }) => ({ id, language, gender }));
    },
    synthesize,
    stats() {
      let bufferedMs = 0;
      for (const stream of active) bufferedMs += stream.bufferedMs();
      return { workers: pool.size, busy: pool.busy, queued: pool.queued, active: active.size, bufferedMs, ...counts, ...pool.counters };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const stream of [...active]) stream.fail(new VoxpipeError('server', 'The espeak engine was closed'));
      await pool.close();
    },
  };
}

/** Validates a request and turns it into espeak settings, or throws `bad-request`. */
function checkRequest(request: SynthesisRequest): { voice: string; rate: number; pitch: number } {
  const bad = (message: string) => new VoxpipeError('bad-request', message, { stage: 'espeak' });
  if (typeof request.text !== 'string' || request.text.trim() === '') throw bad('The text to speak is empty');
  const voice = typeof request.voice === 'string' ? findVoice(request.voice) : undefined;
  if (!voice) throw bad(`Unknown espeak voice "${String(request.voice)}"; known voices: ${ESPEAK_VOICES.map((x) => x.id).join(', ')}`);
  const speed = request.speed ?? 1;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0) throw bad(`speed must be a positive number, got ${String(request.speed)}`);
  const pitch = request.pitch ?? 0;
  if (typeof pitch !== 'number' || !Number.isFinite(pitch)) throw bad(`pitch must be a number of semitones, got ${String(request.pitch)}`);
  return { voice: voice.espeak, rate: speedToRate(speed), pitch: semitonesToPitch(voice.id, pitch) };
}

/** Validates engine options (valibot is not a dependency of this package). */
function checkOptions(options: EspeakEngineOptions): { workers: number | undefined; warm: boolean; segmentChars: number } {
  const bad = (message: string) => new VoxpipeError('bad-request', `Bad options for "espeak": ${message}`, { stage: 'espeak' });
  const known = new Set(['workers', 'warm', 'segmentChars']);
  for (const key of Object.keys(options ?? {})) if (!known.has(key)) throw bad(`unknown option ${key}`);
  const { workers, warm = true, segmentChars = DEFAULT_SEGMENT_CHARS } = options ?? {};
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 256)) throw bad('workers must be an integer from 1 to 256');
  if (typeof warm !== 'boolean') throw bad('warm must be a boolean');
  if (!(Number.isInteger(segmentChars) && segmentChars >= 20 && segmentChars <= 10_000)) throw bad('segmentChars must be an integer from 20 to 10000');
  return { workers, warm, segmentChars };
}
