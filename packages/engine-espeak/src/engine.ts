import { availableParallelism } from 'node:os';
import {
  ReadableStream,
  VoxpipeError,
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
/** Audio a stream holds for its reader: no segment starts above it, and a stalled reader's surplus is dropped down to it. */
export const HIGH_WATER_MS = 1000;

export interface EspeakEngineOptions {
  /** Worker threads, each with its own espeak instance (~75 MB). Default: the number of cores. */
  workers?: number;
  /** Synthesize a word in each worker at start, so the first request is fast. Default true. */
  warm?: boolean;
  /** Longest text segment synthesized in one go, in characters (a digit counts as 6); bounds memory per stream. Default 200. */
  segmentChars?: number;
  /**
   * A reader that reads nothing for this long, while its stream holds more
   * than 1 s, is stalled: the audio past 1 s is dropped (and its job stopped),
   * and remade from its segment's start when the reader comes back (synthesis
   * is deterministic, so the remade audio is identical). Default 1000 ms.
   */
  stallMs?: number;
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
  /** Times a stalled reader's surplus audio (past 1 s) was dropped. */
  evicted: number;
  /** Jobs started again to remake dropped audio. */
  resumed: number;
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

/** A piece of audio waiting to be read, and where it starts in its segment (to remake it after eviction). */
interface QueuedPiece {
  chunk: PcmChunk;
  segment: number;
  offset: number;
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
  const counts = { started: 0, completed: 0, cancelled: 0, failed: 0, evicted: 0, resumed: 0 };
  const active = new Set<StreamEntry>();
  let closed = false;

  function synthesize(request: EspeakSynthesisRequest): ReadableStream<PcmChunk> {
    let segments: string[] = [];
    /** The next segment to start (after any resume). */
    let next = 0;
    /** Audio made but not yet read, oldest first; each piece knows where in its segment it starts. */
    const queue: QueuedPiece[] = [];
    let queuedFrames = 0;
    /** The job synthesizing now, with where its next piece starts. */
    let running: { handle: JobHandle; segment: number; offset: number } | undefined;
    /** Audio dropped behind a stalled reader: the segment to synthesize again, skipping `frames`. */
    let resume: { segment: number; frames: number } | undefined;
    let finished = false;
    let waiting: (() => void) | undefined;
    let lastRead = performance.now();
    let stallTimer: ReturnType<typeof setTimeout> | undefined;
    let controller!: ReadableStreamDefaultController<PcmChunk>;
    let job: { voice: string; rate: number; pitch: number } | undefined;
    const signal = request.signal;
    const queuedMs = () => (queuedFrames * 1000) / ESPEAK_SAMPLE_RATE;

    const finish = (outcome: 'completed' | 'cancelled' | 'failed'): void => {
      if (finished) return;
      finished = true;
      counts[outcome]++;
      active.delete(entry);
      signal?.removeEventListener('abort', onAbort);
      running?.handle.cancel();
      running = undefined;
      resume = undefined;
      queue.length = 0;
      queuedFrames = 0;
      if (stallTimer !== undefined) clearTimeout(stallTimer);
      stallTimer = undefined;
      waiting?.();
      waiting = undefined;
    };
    const entry: StreamEntry = {
      fail(error) {
        if (finished) return;
        finish('failed');
        controller.error(error);
      },
      bufferedMs: queuedMs,
    };
    function onAbort(): void {
      if (finished) return;
      finish('cancelled');
      controller.error(new VoxpipeError('aborted', 'Synthesis was aborted', { cause: signal?.reason }));
    }

    /** Ends the stream once every segment is made and read. */
    const closeIfDone = (): void => {
      if (finished || running || resume || next < segments.length || queue.length > 0) return;
      finish('completed');
      controller.close();
    };

    /** Starts the next job when the stream holds less than HIGH_WATER_MS and no job runs. */
    const startIfRoom = (): void => {
      if (finished || running || !job || queuedMs() >= HIGH_WATER_MS) return;
      let segment: number;
      let skip = 0;
      if (resume) {
        ({ segment, frames: skip } = resume);
        resume = undefined;
        counts.resumed++;
      } else if (next < segments.length) {
        segment = next++;
      } else {
        return closeIfDone();
      }
      const test = segment === 0 && skip === 0 ? request.__test : undefined;
      const current = { segment, offset: skip, handle: undefined as unknown as JobHandle };
      running = current;
      current.handle = pool.submit(
        { text: segments[segment], voice: job.voice, rate: job.rate, pitch: job.pitch, ...(skip > 0 ? { skipFrames: skip } : {}), ...(test ? { test } : {}) },
        {
          chunk(samples) {
            if (finished || running !== current) return;
            const piece: QueuedPiece = { chunk: { sampleRate: ESPEAK_SAMPLE_RATE, channels: [samples] }, segment, offset: current.offset };
            current.offset += samples.length;
            give(piece);
          },
          done() {
            if (running !== current) return;
            running = undefined;
            startIfRoom();
            closeIfDone();
          },
          fail(error) {
            if (running !== current) return;
            running = undefined;
            entry.fail(error);
          },
        },
      );
    };

    /** Hands a piece to a waiting reader, or queues it (watching for a stalled reader). */
    const give = (piece: QueuedPiece): void => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        lastRead = performance.now();
        controller.enqueue(piece.chunk);
        resolve();
        return;
      }
      queue.push(piece);
      queuedFrames += piece.chunk.channels[0].length;
      if (queuedMs() > HIGH_WATER_MS) watchStall();
    };

    const watchStall = (): void => {
      if (stallTimer !== undefined || finished) return;
      const wait = Math.max(1, o.stallMs - (performance.now() - lastRead));
      stallTimer = setTimeout(onStallTimer, wait);
      (stallTimer as { unref?: () => void }).unref?.();
    };

    /** The reader has read nothing for stallMs with more than HIGH_WATER_MS queued: drop the surplus, remake it later. */
    const onStallTimer = (): void => {
      stallTimer = undefined;
      if (finished || queuedMs() <= HIGH_WATER_MS) return;
      if (performance.now() - lastRead < o.stallMs) return watchStall();
      let kept = 0;
      let keep = 0;
      while (keep < queue.length) {
        const frames = queue[keep].chunk.channels[0].length;
        if (keep > 0 && ((kept + frames) * 1000) / ESPEAK_SAMPLE_RATE > HIGH_WATER_MS) break;
        kept += frames;
        keep++;
      }
      const dropped = queue.splice(keep);
      if (dropped.length === 0) return;
      queuedFrames = kept;
      // Everything past the high-water mark comes from the latest segment (no segment starts above it).
      resume = { segment: dropped[0].segment, frames: dropped[0].offset };
      if (running) {
        running.handle.cancel();
        running = undefined;
      }
      counts.evicted++;
    };

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
          startIfRoom();
        },
        pull(c) {
          if (finished) return;
          const piece = queue.shift();
          if (piece) {
            queuedFrames -= piece.chunk.channels[0].length;
            lastRead = performance.now();
            c.enqueue(piece.chunk);
            startIfRoom();
            closeIfDone();
            return;
          }
          startIfRoom();
          closeIfDone();
          if (finished) return;
          return new Promise<void>((resolve) => {
            waiting = resolve;
          });
        },
        cancel() {
          finish('cancelled');
        },
      },
      { highWaterMark: 0 },
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
function checkOptions(options: EspeakEngineOptions): { workers: number | undefined; warm: boolean; segmentChars: number; stallMs: number } {
  const bad = (message: string) => new VoxpipeError('bad-request', `Bad options for "espeak": ${message}`, { stage: 'espeak' });
  const known = new Set(['workers', 'warm', 'segmentChars', 'stallMs']);
  for (const key of Object.keys(options ?? {})) if (!known.has(key)) throw bad(`unknown option ${key}`);
  const { workers, warm = true, segmentChars = DEFAULT_SEGMENT_CHARS, stallMs = 1000 } = options ?? {};
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 256)) throw bad('workers must be an integer from 1 to 256');
  if (typeof warm !== 'boolean') throw bad('warm must be a boolean');
  if (!(Number.isInteger(segmentChars) && segmentChars >= 20 && segmentChars <= 10_000)) throw bad('segmentChars must be an integer from 20 to 10000');
  if (!(typeof stallMs === 'number' && Number.isFinite(stallMs) && stallMs >= 10 && stallMs <= 600_000)) throw bad('stallMs must be a number of milliseconds from 10 to 600000');
  return { workers, warm, segmentChars, stallMs };
}
