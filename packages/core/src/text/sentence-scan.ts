/**
 * The sentence scanner behind `sentences()` and `splitSentences()`. It walks
 * the text from the start, deciding at each candidate position whether a
 * sentence ends there. A decision needs a little text after the position (the
 * next non-space character); when that is not there yet and more text may
 * come, the scanner stops and waits, so a stream of pieces is cut exactly
 * where the whole text would be.
 */

/** Words that end with a period but never end a sentence (lower case, without the final period). */
const NEVER_FINAL = new Set([
  'mr', 'mrs', 'ms', 'mx', 'dr', 'prof', 'st', 'sr', 'jr', 'rev', 'hon', 'gen', 'col', 'capt', 'lt', 'sgt', 'gov', 'sen', 'rep', 'pres',
  'mt', 'ft', 'vs', 'cf', 'e.g', 'i.e', 'eg', 'ie', 'viz', 'approx', 'ca', 'no', 'nos', 'vol', 'fig', 'figs', 'p', 'pp', 'ch', 'sec',
  'art', 'dept', 'est', 'ave', 'blvd', 'rd', 'mme', 'mlle', 'hr', 'fr', 'frl', 'bzw', 'usw', 'z.b', 'd.h', 'sra', 'srta',
]);

/** Abbreviations that may end a sentence: they do when the next word starts with a capital letter. */
const MAYBE_FINAL = new Set(['etc', 'inc', 'ltd', 'co', 'corp', 'bros', 'al', 'esp', 'a.m', 'p.m']);

const TERMINATORS = '.!?…‽';
/** Full-width terminators (CJK): a sentence ends right after them, no space needed. */
const WIDE_TERMINATORS = '。！？';
const CLOSERS = `"'”’»)]}」』`;
const OPENERS = `"'“‘«([{「『`;
const SOFT_BREAKS = ',;:，；：';

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v' || ch === '\u00a0' || ch === '\u3000';
}

function isLower(ch: string): boolean {
  return ch !== ch.toUpperCase() && ch === ch.toLowerCase();
}

function isUpper(ch: string): boolean {
  return ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

/** The word that ends just before `end` (a period at `end`), without leading quotes or brackets. */
function wordBefore(text: string, start: number, end: number): string {
  let i = end;
  while (i > start && !isSpace(text[i - 1])) i--;
  let word = text.slice(i, end);
  while (word.length > 0 && OPENERS.includes(word[0])) word = word.slice(1);
  return word;
}

type Decision = { kind: 'end'; at: number; next: number } | { kind: 'continue'; next: number } | { kind: 'wait' };

/**
 * Decides what the terminator at `i` means. `end` is where the sentence's
 * text ends (after the terminators and closers); `next` where scanning goes on.
 */
function decideTerminator(text: string, start: number, i: number, final: boolean): Decision {
  const first = text[i];
  let j = i;
  while (j < text.length && (TERMINATORS.includes(text[j]) || WIDE_TERMINATORS.includes(text[j]))) j++;
  while (j < text.length && CLOSERS.includes(text[j])) j++;
  if (j >= text.length) return final ? { kind: 'end', at: j, next: j } : { kind: 'wait' };
  const end = j;
  const wide = WIDE_TERMINATORS.includes(text[j - 1]) || WIDE_TERMINATORS.includes(first);
  if (wide) return { kind: 'end', at: end, next: end };
  // Western terminators need a space after them ("3.14", "example.com", "U.S.A" are not ends).
  if (!isSpace(text[j])) return { kind: 'continue', next: j };
  let newline = false;
  while (j < text.length && isSpace(text[j])) {
    if (text[j] === '\n') newline = true;
    j++;
  }
  if (newline) return { kind: 'end', at: end, next: j };
  if (j >= text.length) return final ? { kind: 'end', at: end, next: j } : { kind: 'wait' };
  const after = text[j];
  // "Stop." she said / Wait... what? — a lower-case word carries the sentence on.
  if (isLower(after)) return { kind: 'continue', next: j };
  if (first === '.' && end - i === 1 + countClosers(text, i + 1, end)) {
    const word = wordBefore(text, start, i);
    const lower = word.toLowerCase();
    if (NEVER_FINAL.has(lower)) return { kind: 'continue', next: j };
    // Initials ("J. Smith", but not "I."), and list numbers at the start of a sentence ("1. First").
    if (/^\p{Lu}$/u.test(word) && word !== 'I') return { kind: 'continue', next: j };
    if (/^\d{1,3}$/.test(word) && text.slice(start, i).trim() === word) return { kind: 'continue', next: j };
    const dotted = /^(\p{L}\.)+\p{L}$/u.test(word); // U.S, U.K, a.m
    if ((MAYBE_FINAL.has(lower) || dotted) && !isUpper(after) && !/\d/.test(after)) return { kind: 'continue', next: j };
  }
  return { kind: 'end', at: end, next: j };
}

function countClosers(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) if (CLOSERS.includes(text[k])) n++;
  return n;
}

/** Where to cut a sentence that has run past `maxChars` without ending: after the last comma-like mark, else the last space, else hard. */
function longCut(text: string, start: number, limit: number): { at: number; next: number } {
  for (let k = limit - 1; k > start; k--) {
    if (SOFT_BREAKS.includes(text[k]) && (k + 1 >= text.length || isSpace(text[k + 1]))) return { at: k + 1, next: k + 1 };
  }
  for (let k = limit - 1; k > start; k--) if (isSpace(text[k])) return { at: k, next: k };
  return { at: limit, next: limit };
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
export function scanSentences(text: string, maxChars: number, final: boolean): ScanResult {
  const sentences: string[] = [];
  let start = 0;
  const push = (raw: string) => {
    const sentence = tidySentence(raw);
    if (sentence) sentences.push(sentence);
  };
  outer: for (;;) {
    while (start < text.length && isSpace(text[start])) start++;
    let i = start;
    for (;;) {
      if (i - start >= maxChars) {
        // Where to cut depends on the character after the limit (is a comma followed by a space?): wait for it.
        if (!final && i >= text.length) break outer;
        const cut = longCut(text, start, start + maxChars);
        push(text.slice(start, cut.at));
        start = cut.next;
        continue outer;
      }
      if (i >= text.length) break outer;
      const ch = text[i];
      if (ch === '\n') {
        push(text.slice(start, i));
        start = i + 1;
        continue outer;
      }
      if (TERMINATORS.includes(ch) || WIDE_TERMINATORS.includes(ch)) {
        const decision = decideTerminator(text, start, i, final);
        if (decision.kind === 'wait') break outer;
        if (decision.kind === 'end') {
          push(text.slice(start, decision.at));
          start = decision.next;
          continue outer;
        }
        i = Math.max(i + 1, decision.next);
        continue;
      }
      i++;
    }
  }
  let rest = text.slice(start);
  if (final) {
    push(rest);
    rest = '';
  }
  return { sentences, rest };
}
