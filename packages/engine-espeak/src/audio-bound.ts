/**
 * How much audio eSpeak NG can make from a text, at most, without
 * synthesizing it: every UTF-16 code unit is given the longest time its
 * kind of character has taken to say (measured, then doubled), plus a
 * pause at each end; a character whose compatibility form (NFKC) is a
 * whole phrase counts as that phrase. A server uses it to refuse a range past the end at
 * once. The bound is loose for prose (≈ 10× its real length) and never
 * below the real length: a property test checks it against the engine.
 */

/** Ms per code unit at speed 1, by kind. */
const MS = {
  /** A to Z: "w" alone is "double-u". */
  letter: 400,
  /** Other letters and marks, which a voice may say by name ("ß": "german sharp s"). */
  otherLetter: 1000,
  /** "1234567890" is "one billion two hundred and thirty-four million …". */
  digit: 1000,
  space: 250,
  /** Punctuation and symbols: "%" is "percent", "{" "left brace". */
  symbol: 1000,
  /** Chinese, Japanese and Korean characters, read one by one. */
  cjk: 1500,
  /** Each half of a surrogate pair (emoji are read by name). */
  surrogate: 800,
} as const;
/** Silence before and after the speech, ms. */
const EDGES_MS = 2000;
/** Room above the worst mix of characters measured (random mixes reach ≈ 0.7 of the bound without it). */
const MARGIN = 1.25;

const CJK = /[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;

function unitMs(code: number, char: string): number {
  if (code >= 0xd800 && code <= 0xdfff) return MS.surrogate;
  if (code >= 48 && code <= 57) return MS.digit;
  if (code === 32 || (code >= 9 && code <= 13) || code === 0xa0) return MS.space;
  if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) return MS.letter;
  if (code < 128) return MS.symbol;
  if (CJK.test(char)) return MS.cjk;
  return /\p{L}|\p{M}/u.test(char) ? MS.otherLetter : MS.symbol;
}

function textMs(text: string): number {
  let ms = 0;
  for (let i = 0; i < text.length; i++) ms += unitMs(text.charCodeAt(i), text[i]);
  return ms;
}

/**
 * The most audio `text` can give at `speed`, in ms. Slower speech
 * lengthens pauses more than sounds, so the bound grows as speed^-1.5.
 *
 * ```ts
 * maxAudioMs({ text: 'Hello world', speed: 1 }); // ≈ 8 s for ≈ 0.8 s of speech
 * ```
 */
export function maxAudioMs(request: { text: string; speed?: number }): number {
  const { text, speed = 1 } = request;
  // One code unit can stand for a phrase ("ﷺ"): its compatibility form spells it out.
  const ms = EDGES_MS + Math.max(textMs(text), textMs(text.normalize('NFKC')));
  return (MARGIN * ms) / Math.min(1, speed) ** 1.5;
}
