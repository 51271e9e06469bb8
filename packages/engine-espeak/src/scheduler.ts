/**
 * Which synthesis slice a free worker takes next, and which running slice
 * gives way to an urgent one.
 *
 * Each slice belongs to a stream with a deadline: the moment its listener
 * runs out of audio (a new request's deadline is its arrival: it has no
 * audio yet). Slices whose deadline is within `DUE_MS` are *due*; the rest
 * are *ahead* work (filling a buffer the listener does not need yet).
 *
 * - Due slices go first. Among them the owner (API key) that has used the
 *   least engine time lately goes first, then the earliest deadline.
 * - Ahead slices share what is left: the owner that used the least engine
 *   time lately goes first, then its earliest deadline. The pool runs them
 *   on all workers but one, kept free for due work (so a new request never
 *   waits behind a flood of work that is not needed yet); a stream alone
 *   runs at a whole worker's speed.
 *
 * Engine time is charged to the owner of every slice however it ends
 * (finished, stopped or failed), and forgotten with a half-life of
 * `USAGE_HALF_LIFE_MS`.
 */

/**
 * A slice is due when its stream's listener runs dry within this many ms:
 * long enough that the work many streams started together need next is
 * begun in time on every worker, short enough that a stream read far ahead
 * (a flood) is not due.
 */
export const DUE_MS = 4000;
/** Engine time an owner used counts half after this long. */
export const USAGE_HALF_LIFE_MS = 10_000;

/** What the scheduler needs to know about a slice. */
export interface Schedulable {
  /** Whose engine time this is (the server: the API key's id). */
  owner: string;
  /** When the stream's listener runs out of audio, on the `performance.now()` clock. */
  deadline(): number;
}

interface Usage {
  ms: number;
  at: number;
}

/** Picks slices for workers: due first (least-served owner, then earliest deadline), then ahead work shared fairly. */
export class SliceScheduler {
  readonly #usage = new Map<string, Usage>();

  /** Engine time `owner` used lately, ms (decayed). */
  usage(owner: string, now: number): number {
    const used = this.#usage.get(owner);
    if (!used) return 0;
    return used.ms * 0.5 ** ((now - used.at) / USAGE_HALF_LIFE_MS);
  }

  /** Charges `ms` of engine time to `owner`. */
  charge(owner: string, ms: number, now: number): void {
    this.#usage.set(owner, { ms: this.usage(owner, now) + Math.max(0, ms), at: now });
    if (this.#usage.size > 1000) this.#forgetIdle(now);
  }

  /** The index of the slice to run next, or -1 for none. */
  pick(queued: readonly Schedulable[], now: number): number {
    let best = -1;
    let bestKey: [number, number, number] | undefined;
    for (let i = 0; i < queued.length; i++) {
      const deadline = queued[i].deadline();
      const key: [number, number, number] = [deadline - now <= DUE_MS ? 0 : 1, this.usage(queued[i].owner, now), deadline];
      if (!bestKey || before(key, bestKey)) {
        best = i;
        bestKey = key;
      }
    }
    return best;
  }

  /** Whether a slice is due now. */
  isDue(slice: Schedulable, now: number): boolean {
    return slice.deadline() - now <= DUE_MS;
  }

  #forgetIdle(now: number): void {
    for (const [owner, used] of this.#usage) if (this.usage(owner, now) < 1 && now - used.at > USAGE_HALF_LIFE_MS) this.#usage.delete(owner);
  }
}

function before(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
