import type { StageContext } from '../stage.js';
import { pcmFrames, withMarks, type PcmChunk, type WordMark } from './pcm.js';

/**
 * A word as a timestamped speech stream gives it: `start` and `end` in
 * seconds from the start of the audio, `charStart`/`charEnd` UTF-16 offsets
 * into the request's text.
 */
export interface TimedWord {
  text: string;
  start: number;
  end: number;
  charStart: number;
  charEnd: number;
  /** The text the offsets index (the request's), carried onto the mark as `written`; not on the wire. */
  written?: string;
}

/**
 * The words a run's source learned, waiting for the decoder to put them on
 * their samples: the source adds them as they arrive (`ctx.words.add`), the
 * stage that turns the bytes into PCM takes them off as marks of the chunks
 * it gives (`ctx.words.marksFor`). One per run, shared the way the declared
 * format is. A word lands on frame round(start × sampleRate) + `delay` of the
 * decoded stream; words must come no later than the audio they start in.
 *
 * ```ts
 * ctx.words.add([{ text: 'Hello', start: 0.12, end: 0.5, charStart: 0, charEnd: 5 }]);   // the source
 * const chunk = withMarks(pcm, ctx.words.marksFor(position, frames, 24000));             // the decoder
 * ```
 */
export class WordTimestamps {
  #words: TimedWord[] = [];
  #last: TimedWord | undefined;
  #late = 0;

  /**
   * Frames a decoder gives before the audio the words are timed on (an
   * encoder and decoder's delay, which a server states: MP3 from LAME through
   * mpg123 is 1105 samples late); 0 by default.
   */
  delay = 0;

  /**
   * Adds words, in order of `start`. A word not after the last one added
   * (same or earlier start, and at the same start no later in the text) is
   * taken for a repeat — a resumed stream sends again the words around where
   * it resumes — and skipped.
   */
  add(words: readonly TimedWord[]): void {
    for (const word of words) {
      const last = this.#last;
      if (last && (word.start < last.start || (word.start === last.start && word.charStart <= last.charStart))) continue;
      this.#words.push(word);
      this.#last = word;
    }
  }

  /** Words added and not yet taken. */
  get pending(): number {
    return this.#words.length;
  }

  /** Words that arrived after the audio they start in had been given (each was put on the first frame still to come). */
  get late(): number {
    return this.#late;
  }

  /**
   * Takes the words whose first sample — frame round(start × sampleRate) +
   * `delay` of the stream — is among the `frames` frames from frame `position`, as marks
   * of that chunk (numbered from its first frame); undefined when there are none.
   */
  marksFor(position: number, frames: number, sampleRate: number): WordMark[] | undefined {
    if (this.#words.length === 0 || frames <= 0) return undefined;
    const end = position + frames;
    let n = 0;
    while (n < this.#words.length && Math.round(this.#words[n].start * sampleRate) + this.delay < end) n++;
    if (n === 0) return undefined;
    return this.#words.splice(0, n).map((word) => {
      let frame = Math.round(word.start * sampleRate) + this.delay - position;
      if (frame < 0) {
        this.#late++;
        frame = 0;
      }
      const mark: WordMark = { frame, duration: Math.max(0, word.end - word.start), text: word.text, charStart: word.charStart, charEnd: word.charEnd };
      if (word.written !== undefined) mark.written = word.written;
      return mark;
    });
  }
}

/**
 * Puts the run's words (`ctx.words`) that start in `chunk` on it as marks,
 * its first frame being frame `position` of the decoded stream, and reports
 * a `warning` (code `late-word`) for words that came after their audio. For
 * the stages that turn bytes into PCM (`decode`, `pcmDecode`).
 *
 * ```ts
 * controller.enqueue(markWords(ctx, chunk, position));
 * position += pcmFrames(chunk);
 * ```
 */
export function markWords(ctx: StageContext, chunk: PcmChunk, position: number): PcmChunk {
  const words = ctx.words;
  if (words.pending === 0) return chunk;
  const late = words.late;
  const marks = words.marksFor(position, pcmFrames(chunk), chunk.sampleRate);
  if (words.late > late) {
    ctx.emit('warning', { code: 'late-word', message: `${words.late - late} word(s) arrived after the audio they start in and were put on the next sample still to come` });
  }
  return withMarks(chunk, marks);
}
