/**
 * The sentence scanner behind `sentences()` and `splitSentences()`. ICU's
 * sentence boundaries (Intl.Segmenter) are the candidates — they know every
 * script's stops (。！？ without spaces, Hindi ।, Arabic ؟), decimals,
 * quotes and brackets after the stop — and `sentence-rules.ts` takes back the
 * ones after abbreviations, initials, German ordinals, inside URLs and e-mail
 * addresses, and before a lower-case word.
 *
 * The scanner cuts one sentence at a time off the front of the text. A
 * boundary counts only once the text after it that decides it is there (the
 * next letter; the whole next word after an abbreviation that may end a
 * sentence); until then, with more text to come, the scanner waits. So a
 * stream of pieces is cut exactly where the whole text would be, and both
 * look at the same window of text from the same sentence start.
 */
import { sentenceRules, type SentenceRules } from './sentence-rules.js';

/** Breaks after a paragraph separator (ICU's Sep class): every line is a sentence. */
const PARA_SEP = /[\n\r\u0085\u2028\u2029]/u;
const SPACE = /\s/u;
/** ICU's ATerm: a period-like stop whose meaning depends on what follows. */
const A_TERM = /[.\u2024\uFE52\uFF0E]/u;
const TERMINATOR = /[\p{Sentence_Terminal}.\u2024\uFE52\uFF0E]/u;
/** ICU's Close: brackets and quotes that stay with the sentence before them. */
const CLOSE = /[\p{Ps}\p{Pe}\p{Pi}\p{Pf}"'»«›‹]/u;
/** Stops of the spaced, cased scripts: our rules (no-space, lower-case continuation, abbreviations) apply after them. */
const WESTERN_STOP = /[.!?]/u;
/** Scripts written without spaces between sentences: an ASCII stop before them still ends one ("すごい!本当?"). */
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const LETTER = /\p{L}/u;
const WORD_CHAR = /[\p{L}\p{M}]/u;
const LOWER = /\p{Ll}/u;
const DIGIT = /\p{Nd}/u;
/** Where a long sentence may be cut: comma-like marks (the wide ones need no space after them). */
const SOFT_BREAK = /[,;:،؛]/u;
const WIDE_SOFT_BREAK = /[，；：、]/u;
const OPENERS = /^[\p{Ps}\p{Pi}\p{Pf}"'¿¡«»‹›]+/u;

/** What the scanner needs for one language. */
export interface ScanSettings {
  maxChars: number;
  /** How much text ICU is shown at first from a sentence's start (doubled while a decision needs more). */
  windowChars: number;
  rules: SentenceRules;
  sentences: Intl.Segmenter;
  graphemes: Intl.Segmenter;
}

const segmenters = new Map<string, ScanSettings>();

/** The settings for a language and length limit (segmenters are made once per language). */
export function scanSettings(maxChars: number, language = 'en'): ScanSettings {
  let base = segmenters.get(language);
  if (!base) {
    const rules = sentenceRules(language);
    base = {
      maxChars,
      windowChars: Math.max(1024, 4 * maxChars),
      rules,
      sentences: new Intl.Segmenter(rules.locale, { granularity: 'sentence' }),
      graphemes: new Intl.Segmenter(rules.locale, { granularity: 'grapheme' }),
    };
    if (segmenters.size >= 64) segmenters.clear(); // a few languages in practice; never unbounded
    segmenters.set(language, base);
  }
  return base.maxChars === maxChars ? base : { ...base, maxChars, windowChars: Math.max(1024, 4 * maxChars) };
}

/** Collapses runs of white space and trims. */
export function tidySentence(raw: string): string {
  return raw.replace(/\s+/g, ' ').trim();
}

export interface ScanResult {
  sentences: string[];
  /** Text not yet cut into a sentence (everything, when nothing was decided). */
  rest: string;
}

/**
 * Cuts complete sentences off the front of `text`. With `final` false,
 * stops where deciding needs text that has not arrived; with `final` true,
 * the rest is the last sentence.
 */
export function scanSentences(text: string, settings: ScanSettings, final: boolean): ScanResult {
  const sentences: string[] = [];
  let start = 0;
  for (;;) {
    while (start < text.length && SPACE.test(text[start])) start++;
    if (start >= text.length) break;
    const cut = nextCut(text, start, settings, final);
    if (cut === undefined) break;
    const sentence = tidySentence(text.slice(start, cut.end));
    if (sentence) sentences.push(sentence);
    start = cut.next;
  }
  let rest = text.slice(start);
  if (final) {
    const sentence = tidySentence(rest);
    if (sentence) sentences.push(sentence);
    rest = '';
  }
  return { sentences, rest };
}

/** Where one sentence ends (`end`, before trailing space) and the next search starts. */
interface Cut {
  end: number;
  next: number;
}

const MORE = 'more' as const;

/** The first sentence from `start`, looking at a window that grows while the decision needs more text; undefined to wait. */
function nextCut(text: string, start: number, settings: ScanSettings, final: boolean): Cut | undefined {
  let size = settings.windowChars;
  for (;;) {
    const whole = start + size >= text.length; // the window reaches the end of the text so far
    let end = whole ? text.length : start + size;
    const last = whole && final;
    // Never show ICU half a character: a piece may end between the two halves of an emoji.
    if (!last && end - 1 > start && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    const decided = decide(text, start, end, settings, last);
    if (decided !== MORE) return decided;
    if (whole) return undefined;
    size *= 2;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * The text ICU segments: the same length, with a few characters swapped for
 * ones ICU classes as we mean them (… is a stop like "...", ‽ like "?", and
 * French "Bonjour. »" keeps its closing quote). A swapped stop must not
 * depend on the text after it — stops decide earlier boundaries, and a
 * piece's end would change them ("。…"); the French swap only turns spaces
 * right after a stop into a joiner, and those decide nothing before it.
 */
function segmentView(window: string, rules: SentenceRules): string {
  let view = window.replace(/…/g, '.').replace(/‽/g, '?');
  if (rules.spacedGuillemets) {
    view = view.replace(/([\p{Sentence_Terminal}.][\p{Pe}\p{Pf}"']*)([ \u00a0\u202f]+)(?=[»›])/gu, (_, stop: string, spaces: string) => stop + '\u2060'.repeat(spaces.length));
  }
  return view;
}

/** Decides the first sentence in text[start, end); `final` says nothing follows `end`. */
function decide(text: string, start: number, end: number, settings: ScanSettings, final: boolean): Cut | typeof MORE {
  const view = new View(segmentView(text.slice(start, end), settings.rules), start);
  for (const { index, segment } of settings.sentences.segment(view.text)) {
    const from = start + index;
    const to = from + segment.length;
    // ICU reads past the number in "It costs $5. 10 people paid." to the next letter; a number there starts a sentence.
    for (const boundary of numberStarts(view, from, to)) {
      let stop = boundary;
      while (stop > start && SPACE.test(text[stop - 1])) stop--;
      if (stop - start > settings.maxChars) return longCut(text, start, settings);
      if (judge(text, view, stop, boundary, end, final, settings.rules) === 'end') return { end: stop, next: boundary };
    }
    let stop = to;
    while (stop > start && SPACE.test(text[stop - 1])) stop--;
    if (stop - start > settings.maxChars) return longCut(text, start, settings);
    if (to >= end) return final ? { end: stop, next: to } : MORE;
    if (PARA_SEP.test(text[to - 1])) return { end: stop, next: to };
    const verdict = judge(text, view, stop, to, end, final, settings.rules);
    if (verdict === MORE) return MORE;
    if (verdict === 'end') return { end: stop, next: to };
  }
  return final ? { end: end, next: end } : MORE; // not reached: ICU's last segment ends at `end`
}

/** Characters that ICU attaches to the one before them (marks, joiners, format controls). */
const IGNORABLE = /^[\p{M}\p{Cf}]$/u;

/** The segmented text, read by whole characters at the positions of the original. */
class View {
  constructor(
    readonly text: string,
    readonly start: number,
  ) {}

  /** The character (code point) starting at `i`. */
  at(i: number): string {
    const code = this.text.codePointAt(i - this.start);
    return code === undefined ? '' : String.fromCodePoint(code);
  }

  /** The character (code point) ending at `i`. */
  before(i: number): string {
    const k = i - this.start;
    const low = this.text.charCodeAt(k - 1);
    if (low >= 0xdc00 && low <= 0xdfff && k >= 2) {
      const high = this.text.charCodeAt(k - 2);
      if (high >= 0xd800 && high <= 0xdbff) return this.text.slice(k - 2, k);
    }
    return this.text.slice(k - 1, k);
  }
}

/** Positions inside ICU's segment [from, to) where a number follows a period, closers and a space. */
function* numberStarts(view: View, from: number, to: number): Generator<number> {
  for (let i = from + 1; i < to; i++) {
    if (!DIGIT.test(view.at(i)) || !SPACE.test(view.before(i))) continue;
    let k = i - 1;
    while (k > from && SPACE.test(view.before(k + 1))) k--;
    for (let ch = view.before(k + 1); k > from && ((CLOSE.test(ch) && !TERMINATOR.test(ch)) || IGNORABLE.test(ch)); ch = view.before(k + 1)) k -= ch.length;
    if (A_TERM.test(view.before(k + 1))) yield i;
  }
}

/** The stops that end text[…, stop): where they start and end, the last one, and whether closers follow them. */
function stopsBefore(view: View, stop: number): { first: number; last: number; lastChar: string; closed: boolean } | undefined {
  const start = view.start;
  let close = stop;
  for (let ch = view.before(close); close > start && ((CLOSE.test(ch) && !TERMINATOR.test(ch)) || IGNORABLE.test(ch)); ch = view.before(close)) close -= ch.length;
  let last = close;
  for (let ch = view.before(last); last > start && IGNORABLE.test(ch); ch = view.before(last)) last -= ch.length;
  let first = last;
  for (let ch = view.before(first); first > start && (TERMINATOR.test(ch) || IGNORABLE.test(ch)); ch = view.before(first)) first -= ch.length;
  while (first < last && IGNORABLE.test(view.at(first))) first += view.at(first).length; // a mark before the stops belongs to the word
  if (first === last) return undefined;
  return { first, last, lastChar: view.before(last), closed: last < stop };
}

/**
 * Whether ICU's boundary after text[…, stop) (+ spaces up to `boundary`)
 * ends a sentence, joins it to the next, or needs text after `end` to tell.
 */
function judge(text: string, view: View, stop: number, boundary: number, end: number, final: boolean, rules: SentenceRules): 'end' | 'join' | typeof MORE {
  const start = view.start;
  const stops = stopsBefore(view, stop);
  if (!stops) return 'end';
  const { first, last, lastChar } = stops;
  const run = text.slice(first, last).replace(/[\p{M}\p{Cf}]/gu, '');
  // Japanese quotes a sentence with 「…。」と: the particle carries the sentence on.
  if (rules.quoteParticles && stops.closed) {
    if (text[boundary] === 'と') return 'join';
    if (text[boundary] === 'っ') {
      if (boundary + 1 >= end) return final ? 'end' : MORE;
      if (text[boundary + 1] === 'て') return 'join';
    }
  }
  // After 。！？ । ؟ and the like, ICU's word is final and ours adds nothing.
  if (!A_TERM.test(lastChar) && !WESTERN_STOP.test(lastChar)) return 'end';
  const western = WESTERN_STOP.test(lastChar);

  // No space after the stop: inside a URL, an e-mail address, "v2.0", "ok?Yes", "好……走吧" (but "すごい!本当" ends).
  if (western && stop === boundary && (!UNSPACED_SCRIPT.test(view.at(boundary)) || run.includes('…'))) return 'join';

  if (A_TERM.test(lastChar) && DIGIT.test(view.at(boundary))) return numberAfter(text, start, first, run, rules);

  // ICU's decision after a period, and ours, rest on the next letter (digits and brackets before it do not count).
  let next = boundary;
  for (let ch = view.at(next); next < end && !LETTER.test(ch) && !TERMINATOR.test(ch) && !PARA_SEP.test(ch); ch = view.at(next)) next += ch.length;
  if (next >= end && !final) return MORE;
  const nextLetter = next < end && LETTER.test(view.at(next)) ? view.at(next) : undefined;
  if (!western) return 'end';
  if (nextLetter !== undefined && LOWER.test(nextLetter)) return 'join'; // "Wait... what?", "Yes!" she said.

  if (run !== '.') return 'end'; // "...", "!", "?": not an abbreviation's period
  const { word, from } = wordBefore(text, start, first);
  const lower = word.toLowerCase();
  if (rules.never.has(lower)) return 'join';
  if (/^\p{Lu}$/u.test(word) && !(rules.loneI && word === 'I')) return 'join'; // an initial: "J. Smith", "M. Dupont"
  if (/^\d{1,3}$/.test(word) && from === start) return 'join'; // a list number: "1. First"

  const ordinal = rules.ordinalNouns.size > 0 && /^\d{1,4}$/.test(word);
  const maybe = rules.maybe.has(lower) || /^(\p{L}\.)+\p{L}$/u.test(word); // "etc.", "U.S."
  if (!ordinal && !maybe) return 'end';
  if (nextLetter === undefined) return 'end';
  // These need the whole next word: "U.S. Army" / "U.S. And", "3. Oktober" / "3. Danach".
  let wordEnd = next;
  for (let ch = view.at(wordEnd); wordEnd < end && WORD_CHAR.test(ch); ch = view.at(wordEnd)) wordEnd += ch.length;
  if (wordEnd >= end && !final) return MORE;
  const nextWord = text.slice(next, wordEnd).toLowerCase();
  if (ordinal) return rules.ordinalNouns.has(nextWord) ? 'join' : 'end';
  return rules.starters.has(nextWord) ? 'end' : 'join';
}

/** The word before the stops at `first` (back to the last space, without opening quotes or brackets), and where it starts. */
function wordBefore(text: string, start: number, first: number): { word: string; from: number } {
  let from = first;
  while (from > start && !SPACE.test(text[from - 1])) from--;
  return { word: text.slice(from, first).replace(OPENERS, ''), from };
}

/** A period, then a number: the number starts a sentence unless the word before the period is an abbreviation. */
function numberAfter(text: string, start: number, first: number, run: string, rules: SentenceRules): 'end' | 'join' {
  if (run !== '.') return 'join'; // "I counted... 5 sheep"
  const { word, from } = wordBefore(text, start, first);
  const lower = word.toLowerCase();
  if (rules.never.has(lower) || rules.beforeNumber.has(lower) || rules.maybe.has(lower)) return 'join'; // "No. 5", "ca. 3", "Inc. 500"
  if (/^(\p{L}\.)*\p{L}$/u.test(word) && /^\p{Lu}/u.test(word)) return 'join'; // "U.S. 3 million", "J. 5"
  if (/^\d{1,3}$/.test(word) && from === start) return 'join'; // "1. 5 apples" in a list
  return 'end';
}

/**
 * Cuts a sentence that has run past `maxChars` without ending: after the last
 * comma-like mark, else at the last space, else at the last whole character
 * (grapheme) before the limit. Waits for the character after the limit.
 */
function longCut(text: string, start: number, settings: ScanSettings): Cut {
  const limit = start + settings.maxChars;
  for (let k = limit - 1; k > start; k--) {
    if (WIDE_SOFT_BREAK.test(text[k]) || (SOFT_BREAK.test(text[k]) && (k + 1 >= text.length || SPACE.test(text[k + 1])))) return { end: k + 1, next: k + 1 };
  }
  for (let k = limit - 1; k > start; k--) if (SPACE.test(text[k])) return { end: k, next: k };
  // No space at all: the last grapheme boundary at or before the limit (never inside an emoji or a letter with its marks).
  let cut = start;
  for (const { index } of settings.graphemes.segment(text.slice(start, limit + 1))) {
    if (start + index > limit) break;
    cut = start + index;
  }
  if (cut <= start) cut = limit; // one grapheme longer than the limit
  return { end: cut, next: cut };
}
