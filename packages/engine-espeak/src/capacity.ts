/**
 * Whether the engine can take one more stream and still give every stream
 * its audio before its listener needs it.
 *
 * The engine's cost is measured as it works (`EngineCost`: wall time per
 * character of the jobs its workers finish, and audio per character; or
 * more, when a job still running has already cost more), so a busy machine
 * counts as a slower engine. Every open stream's coming work —
 * each segment it has not made yet, with the moment its listener will need
 * it — is laid out earliest deadline first on the workers
 * (`worstLateness`); a new stream is admitted only if, with all of its own
 * segments added, no segment would start later than `LATENESS_MS` past its
 * deadline — or if the engine has fewer than `ALWAYS_ADMITTED_PER_WORKER`
 * streams per worker. A segment counts by its start: once started it runs
 * on its worker at about a hundred times real time and gives its first
 * audio within a few milliseconds, so its listener waits only if it starts
 * late.
 */

/** How late a segment may be projected before new streams are refused, ms (a new stream's first segment: after its arrival). */
export const LATENESS_MS = 100;
/** Streams per worker admitted whatever the projection says (a few streams never outrun even a cold worker). */
export const ALWAYS_ADMITTED_PER_WORKER = 2;
/** The share of the workers' time the projection counts on (the rest: the server's own thread, other load, the estimate's error). */
export const USABLE_SHARE = 0.9;
/** Until jobs are measured: a cold worker's cost, ms per character (a warm one costs ≈ 0.3), and prose's audio per character. */
const DEFAULT_MS_PER_CHAR = 1;
const DEFAULT_AUDIO_MS_PER_CHAR = 55;
/** How many characters' worth of jobs the starting estimate counts as. */
const SEED_CHARS = 200;
/** Each finished job keeps this share of what the jobs before it counted (≈ the last 10 jobs count). */
const KEEP = 0.9;

/** One piece of work a stream still needs: `ms` of engine time, needed by `deadline` (`performance.now()` clock). */
export interface Work {
  deadline: number;
  ms: number;
}

/**
 * The engine's measured cost per character and audio per character over
 * recent jobs: decayed sums of wall ms, characters and audio, so a job's
 * fixed cost (choosing the voice, sending the pieces) weighs as it does in
 * the engine's work, whatever the mix of short and long segments.
 */
export class EngineCost {
  // The defaults (or the warm-up's cost) count as one segment's worth of jobs.
  #chars = SEED_CHARS;
  #ms = DEFAULT_MS_PER_CHAR * SEED_CHARS;
  #audioMs = DEFAULT_AUDIO_MS_PER_CHAR * SEED_CHARS;
  #seeded = false;

  /** Wall ms per character. */
  get msPerChar(): number {
    return this.#ms / this.#chars;
  }

  /**
   * Wall ms per character, with the jobs still running that have already
   * cost more than that counted in as they stand (so a machine that turns
   * slow counts before those jobs end); the others are left out, as their
   * cost is not known yet. Never below `msPerChar`.
   */
  msPerCharWith(running: readonly { chars: number; ms: number }[]): number {
    const base = this.msPerChar;
    let ms = this.#ms;
    let chars = this.#chars;
    for (const job of running) {
      if (job.chars > 0 && job.ms > job.chars * base) {
        ms += job.ms;
        chars += job.chars;
      }
    }
    return ms / chars;
  }

  /** Audio ms per character at speed 1 (espeak's base rate). */
  get audioMsPerChar(): number {
    return this.#audioMs / this.#chars;
  }

  /** Starts from a worker's warm-up cost (the slowest worker's, once several report); 0 (not measured) is ignored. */
  seed(msPerChar: number): void {
    if (!(msPerChar > 0) || (this.#seeded && msPerChar <= this.msPerChar)) return;
    this.#ms = msPerChar * this.#chars;
    this.#seeded = true;
  }

  /** A job that ran to its end: `chars` of text took `ms` and gave `audioMs` of audio at `speed`. */
  observe(chars: number, ms: number, audioMs: number, speed: number): void {
    if (chars <= 0) return;
    this.#seeded = true;
    this.#ms = KEEP * this.#ms + ms;
    this.#chars = KEEP * this.#chars + chars;
    this.#audioMs = KEEP * this.#audioMs + audioMs * speed;
  }
}

/**
 * How late the latest piece of `work` would start, ms past its deadline
 * (negative: all in time with that much to spare), if `workers` ran it
 * earliest deadline first from `now` (the shorter first at equal
 * deadlines), each giving it `USABLE_SHARE` of its time.
 *
 * ```ts
 * worstLateness([{ deadline: now + 1000, ms: 300 }, { deadline: now, ms: 50 }], 2, now); // max(0, 28 - 1000) = 0: in time
 * ```
 */
export function worstLateness(work: Work[], workers: number, now: number): number {
  // Pieces due at the same moment: the shorter first, so the answer does not depend on the order they came in (and the
  // last of them starts as early as it can).
  work.sort((a, b) => a.deadline - b.deadline || a.ms - b.ms);
  const speed = Math.max(1, workers) * USABLE_SHARE;
  let done = 0;
  let worst = -Infinity;
  for (const piece of work) {
    worst = Math.max(worst, now + done / speed - piece.deadline);
    done += piece.ms;
  }
  return worst;
}
