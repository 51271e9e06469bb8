// Internal: `word` events and heard text for a sink that feeds a player.
import { pcmFrames, WordTimeline, type Heard, type PcmChunk, type StageContext } from '@voxpipe/core';
import { PlayedClock } from './played-clock.js';

/**
 * The words of one run of a sink that feeds a player (an external process,
 * a sound device): each chunk's marks are placed on the audio as it is
 * given, each word is reported as a `word` event when what the player
 * consumed, less its buffer, reaches it (`PlayedClock`), and `heard()` says
 * which words ended by then. Timers end with the run.
 *
 * ```ts
 * const words = new PlayerWords(ctx, 24000, 500);
 * words.given(chunk); await device.write(bytes); words.taken(pcmFrames(chunk));
 * ```
 */
export class PlayerWords {
  readonly #ctx: StageContext;
  readonly #rate: number;
  readonly #words = new WordTimeline();
  readonly #clock: PlayedClock;
  #given = 0;
  #finished = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: StageContext, sampleRate: number, bufferMs: number) {
    this.#ctx = ctx;
    this.#rate = sampleRate;
    this.#clock = new PlayedClock(sampleRate, Math.round((bufferMs * sampleRate) / 1000));
    ctx.defer(() => this.#stopTimer());
  }

  /** A chunk about to go to the player: its marks take their place on the audio. */
  given(chunk: PcmChunk): void {
    this.#words.add(chunk.marks, this.#given / this.#rate, this.#rate);
    this.#given += pcmFrames(chunk);
  }

  /** The player took `frames` more. */
  taken(frames: number): void {
    this.#clock.fed(frames);
    this.#tick();
  }

  /** The player has played everything it took: every word started and ended. */
  finished(): void {
    this.#finished = true;
    this.#tick();
  }

  /** What has been heard so far. */
  heard(): Heard {
    return this.#finished ? this.#words.heardAll(this.#clock.taken / this.#rate) : this.#words.heard(this.#playedS());
  }

  #playedS(): number {
    return this.#finished ? Infinity : this.#clock.position() / this.#rate;
  }

  /** Emits the words that have started; waits for the next one the player has. */
  #tick(): void {
    this.#stopTimer();
    const now = this.#playedS();
    // A word starts playing once its first sample has: half a sample before the position.
    for (const word of this.#words.started(now - 0.5 / this.#rate)) this.#ctx.emit('word', word);
    this.#words.heard(now);
    const next = this.#words.nextStart();
    if (next !== undefined && next * this.#rate < this.#clock.taken && !this.#ctx.signal.aborted) {
      this.#timer = setTimeout(() => this.#tick(), Math.max(5, (next - now) * 1000));
    }
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
