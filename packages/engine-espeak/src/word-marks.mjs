// Word marks from eSpeak NG's events, for the synthesis worker (plain
// JavaScript, like worker.mjs, so the worker loads it under Node, tsx and vitest).
//
// eSpeak NG reports, with each piece of audio, the events inside it: a `word`
// event on the sample where a word's phonemes begin (its text position is
// 1-based, in code points), and a `phoneme` event on the sample where each
// phoneme begins (a pause has an empty name). From those:
// - a mark's word is the written word its event points into: whitespace-
//   separated, without the punctuation a reader does not hear at either end
//   ("(Hello," → "Hello"; "50%" stays whole; "—" alone is no word). An event
//   that points between words continues the word before it when it points
//   just past the previous event's text (eSpeak reads "😀" as "grinning face"
//   and points the second half at the space after it), else it is the next
//   word (after "hello." eSpeak may point the next word at the space or the
//   full stop before it). An event for a word already marked continues it
//   ("1939": nineteen, thirty, nine): a word never has two marks;
// - a word eSpeak says with the one before it, without an event of its own
//   ("of an" → "əvən"), joins that word's mark, and words before the first
//   event join the first: the marks cover every word of the text, in order;
// - a word starts on its first event's sample and ends where its voiced audio
//   ends: where the pause before the next word (or the end of the text) begins,
//   else where the next word begins;
// - audio is held back until the ends of the words starting in it are known
//   (at most about one word), so each chunk leaves with its marks complete.

/** The rate the engine's eSpeak NG build speaks at (the worker checks it at start-up). */
export const SAMPLE_RATE = 24000;

/** Punctuation that is not read out: left off the ends of a written word. */
const QUIET_EDGES = /^[.,;:!?¡¿…"'“”„‘’‚«»‹›()[\]{}\-‐‑–—]+|[.,;:!?¡¿…"'“”„‘’‚«»‹›()[\]{}\-‐‑–—]+$/gu;

/**
 * The written words of `text`: UTF-16 [start, end) of each whitespace-separated
 * token, without the punctuation that is not read out at either end (a token
 * of such punctuation only is no word).
 *
 * @param {string} text
 * @returns {{ start: number, end: number }[]}
 */
export function writtenWords(text) {
  const words = [];
  for (const match of text.matchAll(/\S+/gu)) {
    const token = match[0];
    const start = /** @type {number} */ (match.index);
    const word = token.replace(QUIET_EDGES, '');
    if (word === '') continue;
    const lead = token.indexOf(word);
    words.push({ start: start + lead, end: start + lead + word.length });
  }
  return words;
}

/**
 * The UTF-16 offset of each code point of `text`, and the text's length at the end.
 *
 * @param {string} text
 */
function codePointOffsets(text) {
  const offsets = [];
  for (let i = 0; i < text.length; i++) {
    offsets.push(i);
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) i++;
  }
  offsets.push(text.length);
  return offsets;
}

/**
 * One job's audio and word marks: takes eSpeak's events and pieces of audio
 * as they come, and gives back the pieces whose marks are complete.
 */
export class MarkedAudio {
  /**
   * @param {string} text the text eSpeak speaks
   * @param {number} skip samples already sent before (a remade segment): not given again, nor their marks
   */
  constructor(text, skip) {
    this.text = text;
    this.words = writtenWords(text);
    this.offsets = codePointOffsets(text);
    this.skip = skip;
    /** Samples eSpeak has made so far. */
    this.made = 0;
    /** Samples handed out so far (absolute, from the job's start). */
    this.released = skip;
    /** @type {{ start: number, samples: Float32Array }[]} pieces waiting for their marks */
    this.pending = [];
    /** @type {{ start: number, end: number, first: number, last: number }[]} marks whose ends are known, waiting for their piece */
    this.closed = [];
    /** @type {{ start: number, first: number } | undefined} the mark being said (from word `first`), its end not yet known */
    this.open = undefined;
    /** The last word a closed mark covers. */
    this.covered = -1;
    /** @type {number | undefined} where the pause after the last voiced phoneme began */
    this.pause = undefined;
    this.lastWord = -1;
    /** The code point just past the last word event's text. */
    this.after = 0;
  }

  /** The word (index) a 1-based code point position points into; between words, the one it belongs to (see above). */
  wordAt(position) {
    const unit = this.offsets[Math.min(Math.max(position - 1, 0), this.offsets.length - 1)];
    const words = this.words;
    let lo = 0;
    let hi = words.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (words[mid].end <= unit) lo = mid + 1;
      else hi = mid;
    }
    // words[lo] is the first word ending after `unit`: it holds it, or `unit` is in the gap before it.
    if (lo < words.length && words[lo].start <= unit) return lo;
    const continues = lo > 0 && position === this.after;
    return continues || lo === words.length ? lo - 1 : lo;
  }

  /** A word event at `sample` for `length` code points from `position` (1-based). */
  word(position, length, sample) {
    if (this.words.length === 0) return;
    const word = this.wordAt(position);
    this.after = position + length;
    if (word <= this.lastWord) {
      this.pause = undefined; // more of the same word, voiced
      return;
    }
    this.close(sample, word - 1);
    this.open = { start: sample, first: this.covered + 1 };
    this.lastWord = word;
  }

  /** A phoneme event at `sample`; `silent` for a pause. */
  phoneme(silent, sample) {
    if (silent) this.pause ??= sample;
    else this.pause = undefined;
  }

  /** Ends the open mark, covering words up to `last`: at the pause before `next`, else at `next`. */
  close(next, last) {
    if (!this.open) return;
    const end = this.pause !== undefined && this.pause >= this.open.start ? this.pause : next;
    this.closed.push({ start: this.open.start, end: Math.max(this.open.start, end), first: this.open.first, last });
    this.covered = last;
    this.open = undefined;
    this.pause = undefined;
  }

  /** A piece of audio (16-bit samples), the next after those before. */
  audio(pcm) {
    const start = this.made;
    this.made += pcm.length;
    const from = Math.max(0, this.skip - start);
    if (from >= pcm.length) return;
    const samples = new Float32Array(pcm.length - from);
    for (let i = 0; i < samples.length; i++) samples[i] = pcm[from + i] / 32768;
    this.pending.push({ start: start + from, samples });
  }

  /** Ends the text: the last word ends where its pause begins, else with the audio. */
  finish() {
    this.close(this.made, this.words.length - 1);
  }

  /**
   * The pieces that can go now (every word starting in them has its end), each
   * with its marks: `frame` within the piece, `duration` in seconds, and the
   * word's UTF-16 range in the text.
   */
  take() {
    const limit = this.open ? this.open.start : Infinity;
    const out = [];
    while (this.pending.length > 0) {
      const piece = this.pending[0];
      const end = piece.start + piece.samples.length;
      if (end > limit) break;
      this.pending.shift();
      const marks = [];
      while (this.closed.length > 0) {
        const word = this.closed[0];
        if (word.start < this.skip) {
          this.closed.shift(); // said in audio sent before this job
          continue;
        }
        // A word is never placed before audio already sent (eSpeak's events come with their audio, so it never is).
        const start = Math.max(word.start, piece.start);
        if (start >= end) break;
        this.closed.shift();
        marks.push({ frame: start - piece.start, duration: (word.end - start) / SAMPLE_RATE, charStart: this.words[word.first].start, charEnd: this.words[word.last].end });
      }
      this.released = end;
      out.push({ samples: piece.samples, marks });
    }
    // Words that start after the last sample (none in practice) have no audio to sit on.
    if (this.pending.length === 0 && !this.open && this.closed.length > 0 && this.closed[0].start >= this.made) this.closed.length = 0;
    return out;
  }
}
