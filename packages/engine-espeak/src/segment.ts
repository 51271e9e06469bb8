/**
 * Splits text into the pieces the engine synthesizes one at a time, so a long
 * text never has more than one piece's audio in flight. Pure and
 * deterministic: the same text and limit always give the same pieces (the
 * server's Range resume relies on identical audio).
 *
 * Rules: whitespace runs become one space; sentences (ending in . ! ? … and
 * any closing quotes or brackets) are packed greedily up to `maxChars`; a
 * sentence longer than that is cut at clause marks (, ; : – —), a clause
 * longer than that at spaces, and a word longer than that wherever it fills
 * the limit. Lengths are weighed roughly by how long they take to say: a
 * digit counts as DIGIT_WEIGHT characters ("1939" is "nineteen thirty-nine"),
 * everything else as one code unit.
 */

/** The default longest piece (≈ 11 s of prose at 175 wpm). */
export const DEFAULT_SEGMENT_CHARS = 200;
/** How many characters a digit counts as. */
export const DIGIT_WEIGHT = 6;
/**
 * The longest first four pieces of a stream (≈ 1.7, 2.4, 4.8 and 9.6 s of
 * prose): a new stream's first audio is quick to make, and so is each next
 * piece while many streams start at once. A slow start, as
 * streaming TTS services schedule their chunk lengths.
 */
export const OPENING_CHARS: readonly number[] = [28, 40, 80, 160];

const SENTENCE_END = /(?<=[.!?…。！？]+["'”’)\]»]*)\s+/u;
const CLAUSE_END = /(?<=[,;:，；：]["'”’)\]»]*|\s[–—])\s+/u;

/** A text's length as it counts against the limit. */
export function segmentWeight(text: string): number {
  let weight = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    weight += code >= 48 && code <= 57 ? DIGIT_WEIGHT : 1;
  }
  return weight;
}

/**
 * The text as pieces weighing at most `maxChars` each (none empty). A piece
 * exceeds it only when a single character does (a digit with a tiny limit).
 *
 * ```ts
 * splitSegments('One. Two, three.', 8); // ['One.', 'Two,', 'three.']
 * ```
 */
export function splitSegments(text: string, maxChars: number = DEFAULT_SEGMENT_CHARS): string[] {
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
  const clean = text.replace(/\s+/gu, ' ').trim();
  if (clean === '') return [];
  const units: string[] = [];
  for (const sentence of clean.split(SENTENCE_END)) {
    if (segmentWeight(sentence) <= maxChars) {
      units.push(sentence);
      continue;
    }
    for (const clause of pack(sentence.split(CLAUSE_END), maxChars)) {
      if (segmentWeight(clause) <= maxChars) {
        units.push(clause);
        continue;
      }
      for (const words of pack(clause.split(' '), maxChars)) units.push(...hardSplit(words, maxChars));
    }
  }
  return pack(units, maxChars);
}

/** Joins neighbouring parts with a space while the result fits in `maxChars`. */
function pack(parts: readonly string[], maxChars: number): string[] {
  const out: string[] = [];
  let current = '';
  let weight = 0;
  for (const part of parts) {
    if (part === '') continue;
    const w = segmentWeight(part);
    if (current === '') {
      current = part;
      weight = w;
    } else if (weight + 1 + w <= maxChars) {
      current += ' ' + part;
      weight += 1 + w;
    } else {
      out.push(current);
      current = part;
      weight = w;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

/** Cuts a word into pieces weighing at most `maxChars`, never inside a surrogate pair. */
function hardSplit(word: string, maxChars: number): string[] {
  const out: string[] = [];
  let current = '';
  let weight = 0;
  for (const char of word) {
    const w = segmentWeight(char);
    if (current !== '' && weight + w > maxChars) {
      out.push(current);
      current = '';
      weight = 0;
    }
    current += char;
    weight += w;
  }
  out.push(current);
  return out;
}

/**
 * `splitSegments` with a slow start: the first pieces are cut shorter
 * (`opening`, then `maxChars` for the rest), each at the best boundary
 * inside its limit (sentence, clause, word). Pure and deterministic, like
 * `splitSegments`.
 *
 * ```ts
 * openingSegments('Streaming speech lets a listener hear the start of an answer.', 200, [20]);
 * // ['Streaming speech', 'lets a listener hear the start of an answer.']
 * ```
 */
export function openingSegments(text: string, maxChars: number = DEFAULT_SEGMENT_CHARS, opening: readonly number[] = OPENING_CHARS): string[] {
  const rest = splitSegments(text, maxChars);
  const out: string[] = [];
  for (const limit of opening) {
    const next = rest.shift();
    if (next === undefined) return out;
    if (limit >= maxChars || segmentWeight(next) <= limit) {
      out.push(next);
      continue;
    }
    const [head, ...tail] = splitSegments(next, limit);
    out.push(head);
    rest.unshift(tail.join(' '));
  }
  return [...out, ...rest];
}

