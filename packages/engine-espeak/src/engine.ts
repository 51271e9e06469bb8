import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import {
  ReadableStream,
  VoxpipeError,
  type Engine,
  type EngineVoice,
  type PcmChunk,
  locateSentence,
  type WordMark,
} from '@voxpipe/core';
import { checkOptions, checkRequest } from './engine-checks.js';
import { ESPEAK_SAMPLE_RATE, HIGH_WATER_MS, type EspeakEngine, type EspeakEngineOptions, type EspeakEngineStats, type EspeakSynthesisRequest } from './engine-types.js';
import { WorkerPool, type JobHandle } from './pool.js';
import { maxAudioMs } from './audio-bound.js';
import { openingSegments, segmentWeight } from './segment.js';
import { ALWAYS_ADMITTED_PER_WORKER, LATENESS_MS, USABLE_SHARE, worstLateness, type EngineCost, type Work } from './capacity.js';
import { BASE_RATE_WPM, speedToRate } from './prosody.js';
import type { SegmentMark } from './protocol.js';
import { ESPEAK_VOICES } from './voices.js';
import { DIGIT_WEIGHT, OPENING_CHARS } from './segment.js';

/** How many texts' segments the engine keeps (see `cutsOf`). */
const RECENT_CUTS = 64;

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
  /** Adds the work it has not made yet to `out`, each piece with when its listener needs it. */
  pending(cost: Cost, now: number, out: Work[]): void;
}

/** What the engine's work costs now: wall ms and audio ms per character. */
type Cost = Pick<EngineCost, 'msPerChar' | 'audioMsPerChar'>;

/** A stream admitted by `admit` whose synthesis has not (all) started: its text's weight not yet started. */
interface Reservation {
  owner: string;
  text: string;
  speed: number;
  at: number;
  /** Its segments' weights, their sum, and how much of the text is not yet started. */
  weights: readonly number[];
  total: number;
  left: number;
}

/**
 * Starts the embedded eSpeak NG engine: a pool of worker threads (one wasm
 * instance each), so synthesis never blocks the event loop. Use it as the
 * server's local engine or to speak text with no network at all. Audio is
 * mono float32 at 24 kHz in ~100 ms chunks, each with the word marks of
 * the words starting in it (from eSpeak NG's own events; see word-marks.mjs);
 * always `close()` it.
 *
 * ```ts
 * const engine = await createEspeakEngine({ workers: 2 });
 * const audio = engine.synthesize({ text: 'Hello world', voice: 'en-us+f3' });
 * ```
 */
export async function createEspeakEngine(options: EspeakEngineOptions = {}): Promise<EspeakEngine> {
  const o = checkOptions(options);
  const begin = performance.now();
  const pool = await WorkerPool.start(o.workers ?? availableParallelism(), o.warm, o.workerNice);
  const counts = { started: 0, completed: 0, cancelled: 0, failed: 0, evicted: 0, resumed: 0, refused: 0 };
  const active = new Set<StreamEntry>();
  const reservations = new Set<Reservation>();
  let closed = false;

  /**
   * A text's segments, their weights and the weights' sum. The server asks for a text's
   * segments twice in a row (admitting its stream, then starting it), so
   * the last few texts' are kept; callers never change them.
   */
  const recentCuts = new Map<string, { segments: readonly string[]; weights: readonly number[]; total: number }>();
  const cutsOf = (text: string): { segments: readonly string[]; weights: readonly number[]; total: number } => {
    let cuts = recentCuts.get(text);
    if (!cuts) {
      const segments = openingSegments(text, o.segmentChars);
      const weights = segments.map(segmentWeight);
      cuts = { segments, weights, total: weights.reduce((a, b) => a + b, 0) };
      if (recentCuts.size >= RECENT_CUTS) recentCuts.delete(recentCuts.keys().next().value as string);
      recentCuts.set(text, cuts);
    }
    return cuts;
  };

  /** Lays out `weights` (characters) as work from `start`, each piece needed once the audio of those before it has played. */
  const layOut = (cost: Cost, weights: readonly number[], speed: number, start: number, out: Work[]): void => {
    let at = start;
    for (const chars of weights) {
      out.push({ deadline: at, ms: chars * cost.msPerChar });
      at += (chars * cost.audioMsPerChar) / speed;
    }
  };

  /** Every open stream's and reservation's coming work. */
  const comingWork = (cost: Cost, now: number): Work[] => {
    const out: Work[] = [];
    for (const stream of active) stream.pending(cost, now, out);
    for (const r of reservations) {
      if (r.left <= 0) continue;
      if (r.left >= r.total) layOut(cost, r.weights, r.speed, Math.max(now, r.at), out);
      else layOut(cost, [r.left], r.speed, Math.max(now, r.at + ((r.total - r.left) * cost.audioMsPerChar) / r.speed), out);
    }
    return out;
  };

  /** Takes the reservation a stream of `request` was admitted under: its text is (part of) the reserved one. */
  const claim = (request: EspeakSynthesisRequest): void => {
    for (const r of reservations) {
      if (r.left > 0 && r.owner === (request.owner ?? '') && r.text.includes(request.text)) {
        r.left -= segmentWeight(request.text);
        return;
      }
    }
  };

  function admit(request: { text: string; speed?: number; owner?: string }): { release(): void } | { retryAfter: number } {
    const now = performance.now();
    const speed = speedToRate(request.speed ?? 1) / BASE_RATE_WPM;
    const { weights, total } = cutsOf(request.text);
    // The measured cost, with the jobs running now that have already cost more than it counted in.
    const cost: Cost = { msPerChar: pool.cost.msPerCharWith(pool.running(now)), audioMsPerChar: pool.cost.audioMsPerChar };
    const work = comingWork(cost, now);
    // A few streams per worker are always taken: they do not fall behind even on a cold worker (its first jobs run
    // slower), and their jobs correct a cost measured on a cold or idle engine.
    let open = active.size;
    for (const r of reservations) if (r.left > 0) open++;
    const few = open < ALWAYS_ADMITTED_PER_WORKER * pool.size;
    layOut(cost, weights, speed, now, work);
    if (!closed && !few && worstLateness(work, pool.size, now) > LATENESS_MS) {
      counts.refused++;
      let backlog = 0;
      for (const piece of work) backlog += piece.ms;
      return { retryAfter: Math.min(30, Math.max(1, Math.ceil(backlog / (Math.max(1, pool.size) * USABLE_SHARE) / 1000))) };
    }
    const reservation: Reservation = { owner: request.owner ?? '', text: request.text, speed, at: now, weights, total, left: total };
    reservations.add(reservation);
    return { release: () => void reservations.delete(reservation) };
  }

  function synthesize(request: EspeakSynthesisRequest): ReadableStream<PcmChunk> {
    let segments: readonly string[] = [];
    let weights: readonly number[] = [];
    /** Where each segment's code units are in the request's text (segments collapse whitespace and may cut a long word). */
    let origins: Int32Array[] = [];
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
    const arrived = performance.now();
    const urgentFrames = ((request.urgentMs ?? 0) * ESPEAK_SAMPLE_RATE) / 1000;
    /** Frames the reader has taken, and when it took the first of them past the urgent part (its listener's start). */
    let readFrames = 0;
    let listening: number | undefined;
    const schedule = {
      owner: request.owner ?? '',
      // When the listener runs out: its start plus the audio made for it. Until it starts: now (urgent).
      deadline: () => (listening === undefined ? arrived : listening + ((readFrames + queuedFrames - urgentFrames) * 1000) / ESPEAK_SAMPLE_RATE),
    };
    const hand = (chunk: PcmChunk): void => {
      readFrames += chunk.channels[0].length;
      if (listening === undefined && readFrames > urgentFrames) listening = performance.now();
      lastRead = performance.now();
      controller.enqueue(chunk);
    };

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
      pending(cost, now, out) {
        if (!job || finished) return;
        const speed = job.rate / BASE_RATE_WPM;
        const audioMs = (chars: number) => (chars * cost.audioMsPerChar) / speed;
        // Until its listener starts, a stream's work is due now (a new stream's, or all of a range's); after, when its
        // listener runs dry, but never before the audio still queued here is read (a paused reader is nobody's lateness).
        const at = listening === undefined ? Math.max(now, arrived) : Math.max(schedule.deadline(), now + queuedMs());
        /** What is left of a segment `frames` into it, in characters (a tenth at least). */
        const left = (segment: number, frames: number) => weights[segment] * Math.max(0.1, 1 - (frames * 1000) / ESPEAK_SAMPLE_RATE / audioMs(weights[segment]));
        const coming = weights.slice(next, segments.length);
        if (resume) coming.unshift(left(resume.segment, resume.frames));
        if (running) coming.unshift(left(running.segment, running.offset));
        layOut(cost, coming, speed, at, out);
      },
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
          chunk(samples, found) {
            if (finished || running !== current) return;
            const chunk: PcmChunk = { sampleRate: ESPEAK_SAMPLE_RATE, channels: [samples] };
            if (found.length > 0) chunk.marks = found.map((mark) => wordMark(mark, segment));
            const piece: QueuedPiece = { chunk, segment, offset: current.offset };
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
        schedule,
      );
    };

    /** A mark as the request sees it: its word's range in the request's text, and the word as written there. */
    const wordMark = (mark: SegmentMark, segment: number): WordMark => {
      const charStart = origins[segment][mark.charStart];
      const charEnd = origins[segment][mark.charEnd - 1] + 1;
      return { frame: mark.frame, duration: mark.duration, text: request.text.slice(charStart, charEnd), charStart, charEnd };
    };

    /** Hands a piece to a waiting reader, or queues it (watching for a stalled reader). */
    const give = (piece: QueuedPiece): void => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        hand(piece.chunk);
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
            // Short segments first (a new stream's first audio is quick to make, and so is every stream's next while many
            // start), longer ones after; the same for every request of this text, so a resumed stream is identical.
            ({ segments, weights } = cutsOf(request.text));
            let cursor = 0;
            origins = segments.map((segment) => {
              const { at, end } = locateSentence(request.text, cursor, segment);
              cursor = end;
              return at;
            });
          } catch (error) {
            finished = true;
            c.error(error);
            return;
          }
          counts.started++;
          claim(request);
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
            hand(piece.chunk);
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

  if (o.warm === 'full') await warmStreams();
  const startupMs = performance.now() - begin;

  /**
   * The thorough warm-up's last part: a stream per worker through this
   * thread's side too (segments, scheduling, pieces), as the first requests
   * will run it. Neither its work nor its cost (this thread's first run is
   * slow) is counted.
   */
  async function warmStreams(): Promise<void> {
    const voices = ['en-us+m3', 'en-us+f3'];
    const text = 'Warming up: every stream after this one starts at full speed.';
    await Promise.all(
      Array.from({ length: pool.size }, async (_, i) => {
        const reader = synthesize({ text, voice: voices[i % voices.length] }).getReader();
        while (!(await reader.read()).done);
      }),
    );
    for (const key of Object.keys(counts) as Array<keyof typeof counts>) counts[key] = 0;
    pool.forgetCost();
  }

  return {
    name: 'espeak',
    sampleRate: ESPEAK_SAMPLE_RATE,
    // What makes its samples: this package (its worker and prosody), eSpeak NG's code and data, and where texts are cut.
    build: ((require) =>
      [
        `@voxpipe/engine-espeak@${(require('../package.json') as { version: string }).version}`,
        `espeak-ng@${(require('../espeak-ng/build.json') as { espeakNg: string }).espeakNg}`,
        `segments=${o.segmentChars} opening=${OPENING_CHARS.join(',')} digit=${DIGIT_WEIGHT}`,
      ].join(' '))(createRequire(import.meta.url)),
    startupMs,
    workerStartups: pool.startups,
    voices(): readonly EngineVoice[] {
      return ESPEAK_VOICES.map(({ id, language, gender }) => ({ id, language, gender }));
    },
    synthesize,
    admit,
    maxAudioMs,
    stats() {
      let bufferedMs = 0;
      for (const stream of active) bufferedMs += stream.bufferedMs();
      return {
        workers: pool.size,
        busy: pool.busy,
        aheadBusy: pool.aheadBusy,
        queued: pool.queued,
        waitingInWorkers: pool.waitingInWorkers,
        active: active.size,
        bufferedMs,
        msPerChar: pool.cost.msPerChar,
        reserved: [...reservations].filter((r) => r.left > 0).length,
        ...counts,
        ...pool.counters,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const stream of [...active]) stream.fail(new VoxpipeError('server', 'The espeak engine was closed'));
      await pool.close();
    },
  };
}
