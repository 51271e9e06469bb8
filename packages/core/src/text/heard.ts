import type { RunEventMap } from '../events.js';
import type { WordMark } from '../pcm/pcm.js';

/** What the listener heard of a run's words when playback stopped (or so far). */
export interface Heard {
  /**
   * The text up to the end of the last word that finished playing: a prefix
   * of the text as written when the marks carry it (`WordMark.written`),
   * else the heard words joined by spaces.
   */
  text: string;
  /** Words that finished playing. */
  words: number;
  /** Audio played, in ms. */
  ms: number;
  /** UTF-16 offset in the written text where `text` ends (0: no word finished). */
  charEnd: number;
}

/** What a `word` event says. */
export type WordEvent = RunEventMap['word'];

/** Nothing heard yet. */
export const NOTHING_HEARD: Heard = Object.freeze({ text: '', words: 0, ms: 0, charEnd: 0 });

interface TimedWord {
  index: number;
  mark: WordMark;
  /** Seconds into the run's audio where the word's first sample is. */
  start: number;
  /** Seconds into the run's audio where it ends. */
  end: number;
}

/** Half a sample at 384 kHz: a word ends "at" a position within this. */
const EPSILON = 1 / 768_000;

/**
 * Follows a run's words along its audio, for a sink: it adds each chunk's
 * marks as it takes the chunk (at the chunk's place in the audio), and asks
 * with the position it has played which words have started (`word` events)
 * and what has been heard (the words that finished). Keeps only words not
 * yet started or finished, so an endless run stays small.
 *
 * ```ts
 * const words = new WordTimeline();
 * words.add(chunk.marks, framesBefore / chunk.sampleRate, chunk.sampleRate); // … later:
 * for (const word of words.started(playedSeconds)) ctx.emit('word', word); const heard = words.heard(playedSeconds);
 * ```
 */
export class WordTimeline {
  #words: TimedWord[] = [];
  /** Index in #words of the first word not yet started / not yet finished. */
  #startAt = 0;
  #finishAt = 0;
  #count = 0;
  #finished = 0;
  #charEnd = 0;
  #joined = '';
  #written: string | undefined;
  #heardS = 0;

  /** Adds the marks of a chunk whose first sample is `chunkStart` seconds into the audio, at `sampleRate`. */
  add(marks: readonly WordMark[] | undefined, chunkStart: number, sampleRate: number): void {
    if (!marks) return;
    for (const mark of marks) {
      const start = chunkStart + mark.frame / sampleRate;
      const duration = Number.isFinite(mark.duration) && mark.duration > 0 ? mark.duration : 0;
      this.#words.push({ index: this.#count++, mark, start, end: start + duration });
    }
  }

  /** Words added so far. */
  get count(): number {
    return this.#count;
  }

  /** Where the next word not yet started begins, in seconds; undefined when none is waiting. */
  nextStart(): number | undefined {
    return this.#words[this.#startAt]?.start;
  }

  /** The words whose first sample is at or before `seconds` and that were not given before, in order, as `word` event details. */
  started(seconds: number): WordEvent[] {
    const out: WordEvent[] = [];
    for (let word = this.#words[this.#startAt]; word && word.start <= seconds + EPSILON; word = this.#words[++this.#startAt]) {
      const { text, charStart, charEnd, duration } = word.mark;
      out.push({ index: word.index, text, charStart, charEnd, atMs: word.start * 1000, durationMs: Math.max(0, duration) * 1000 });
    }
    this.#compact();
    return out;
  }

  /** What was heard with `seconds` of the audio played: the words that ended by then. Never goes back. */
  heard(seconds: number): Heard {
    this.#heardS = Math.max(this.#heardS, seconds);
    for (let word = this.#words[this.#finishAt]; word && word.end <= this.#heardS + EPSILON; word = this.#words[++this.#finishAt]) this.#finish(word.mark);
    this.#compact();
    const text = this.#written !== undefined ? this.#written.slice(0, this.#charEnd) : this.#joined;
    return { text, words: this.#finished, ms: this.#heardS * 1000, charEnd: this.#charEnd };
  }

  /** Everything added was played to its end (the stream drained): every word counts as heard. */
  heardAll(seconds: number): Heard {
    const last = this.#words[this.#words.length - 1];
    return this.heard(Math.max(seconds, last?.end ?? 0));
  }

  #finish(mark: WordMark): void {
    this.#finished++;
    if (mark.charEnd > this.#charEnd) this.#charEnd = mark.charEnd;
    if (mark.written !== undefined && mark.written.length >= this.#charEnd) this.#written = mark.written;
    if (this.#written === undefined) this.#joined = this.#joined ? `${this.#joined} ${mark.text}` : mark.text;
  }

  /** Drops words both started and finished. */
  #compact(): void {
    const done = Math.min(this.#startAt, this.#finishAt);
    if (done < 64 || done * 2 < this.#words.length) return;
    this.#words = this.#words.slice(done);
    this.#startAt -= done;
    this.#finishAt -= done;
  }
}
