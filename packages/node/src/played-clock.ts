// Internal: how far an external player has got, told from what it took.

/**
 * Estimates what an external player has played: what it has consumed less
 * what it holds in its buffer. From its start (or its restart after running
 * dry) a player consumes at its rate and is heard a buffer later, so the
 * played position is `bufferFrames` behind the clock, and never past what
 * it was given. `play()` keeps one per run for its `word` events and heard
 * text.
 *
 * ```ts
 * const clock = new PlayedClock(24000, 12000); // 500 ms of player buffer
 * clock.fed(4800); const frames = clock.position();
 * ```
 */
export class PlayedClock {
  #fed = 0;
  /** Frames played when the player last started from dry, and when (ms). */
  #anchor = 0;
  #anchorMs: number | undefined;

  constructor(
    readonly sampleRate: number,
    readonly bufferFrames: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The player took `frames` more. */
  fed(frames: number): void {
    const t = this.now();
    if (this.#anchorMs === undefined || this.#played(t) >= this.#fed) {
      // It had played all it was given: it starts again from here, its buffer empty.
      this.#anchor = this.#fed;
      this.#anchorMs = t;
    }
    this.#fed += frames;
  }

  /** Frames the player took in all. */
  get taken(): number {
    return this.#fed;
  }

  /** Frames played by now. */
  position(): number {
    return this.#played(this.now());
  }

  #played(t: number): number {
    if (this.#anchorMs === undefined) return 0;
    return Math.min(this.#fed, this.#anchor + Math.max(0, ((t - this.#anchorMs) * this.sampleRate) / 1000 - this.bufferFrames));
  }
}
