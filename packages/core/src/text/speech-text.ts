// Text as it should be spoken: Markdown, links, e-mail addresses and emoji
// turned into words (or dropped), with a map from every character spoken
// back to the characters it came from, so word marks on the spoken text land
// on the text as written.

/** A sentence as spoken, and where each of its characters came from. */
export interface SpeechText {
  /** What to send to the speech engine ('' when nothing is to be said). */
  text: string;
  /** For each character of `text`, the first character of the original it stands for. */
  from: Int32Array;
  /** For each character of `text`, the end (exclusive) of the original it stands for. */
  to: Int32Array;
}

/**
 * The span of the original that `text.slice(start, end)` of a SpeechText
 * stands for: both ends only move forward as the spoken span does, and stay
 * within the original.
 */
export function originalSpan(speech: SpeechText, start: number, end: number): { start: number; end: number } {
  const n = speech.text.length;
  if (n === 0) return { start: 0, end: 0 };
  const a = Math.max(0, Math.min(n - 1, start));
  const b = Math.max(a, Math.min(n - 1, end - 1));
  return { start: speech.from[a], end: Math.max(speech.from[a], speech.to[b]) };
}

const URL_AT = /(?:https?:\/\/|www\.)[\w\-.~:/?#@!$&+,;=%]+/y;
const EMAIL_AT = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/uy;
const LINK_TARGET_AT = /\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"]*")?\)/y;
const LEADING = /^(?:(?:#{1,6}|>|[-*+]|\d{1,9}[.)])[ \t]+|\[[ xX]\][ \t]+)+/;
const RULE = /^(?:[-*_][ \t]*){3,}$/;
const FENCE = /^(?:```|~~~)/;
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|[\u{1F3FB}-\u{1F3FF}\u200d\ufe0f\u20e3])/u;
const TRAILING_PUNCTUATION = /[.,;:!?)\]'"]+$/;
const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Builds spoken text and its map, collapsing white space. */
class Speech {
  text = '';
  from: number[] = [];
  to: number[] = [];

  add(piece: string, start: number, end: number): void {
    for (const ch of piece) {
      if (ch === ' ' && (this.text.length === 0 || this.text.endsWith(' '))) continue;
      this.text += ch;
      for (let k = 0; k < ch.length; k++) {
        this.from.push(start);
        this.to.push(end);
      }
    }
  }

  done(): SpeechText {
    let n = this.text.length;
    while (n > 0 && this.text[n - 1] === ' ') n--;
    return { text: this.text.slice(0, n), from: Int32Array.from(this.from.slice(0, n)), to: Int32Array.from(this.to.slice(0, n)) };
  }
}

/** A host name spoken: "www." dropped, dots said. */
function sayHost(host: string): string {
  return host.replace(/^www\./i, '').split('.').filter(Boolean).join(' dot ');
}

/**
 * Turns sentences of an LLM's answer into what a speech engine should say,
 * one sentence at a time (a whole sentence sees Markdown that a token-by-token
 * filter would miss, e.g. `**` split across two tokens), remembering across
 * sentences whether a code block is open. Headings, quotes, list and task
 * markers, emphasis (`*`, `_`, `~~`) and inline-code backticks are dropped;
 * a link or image is its text; code blocks and rules are not said; a URL is
 * said as its host ("example dot com"), an e-mail address as "jane at example
 * dot org"; emoji are dropped. Each result maps its characters back to the
 * sentence as written.
 *
 * ```ts
 * const normalizer = new SpeechNormalizer();
 * normalizer.next('**Read** [the docs](https://x.dev/a) 👍').text // 'Read the docs'
 * ```
 */
export class SpeechNormalizer {
  #inCode = false;

  /** Whether a code block is open (its lines are not said). */
  get inCode(): boolean {
    return this.#inCode;
  }

  /** The next sentence as spoken; offsets in the map count from the sentence's first character. */
  next(sentence: string): SpeechText {
    const out = new Speech();
    const trimmed = sentence.trimStart();
    const lead = sentence.length - trimmed.length;
    if (FENCE.test(trimmed)) {
      // A fence opens a code block or closes one; a line with two is a block of its own. None is said.
      const fence = trimmed.slice(0, 3);
      if (this.#inCode) this.#inCode = false;
      else if (!trimmed.slice(3).includes(fence)) this.#inCode = true;
      return out.done();
    }
    if (this.#inCode) return out.done();
    if (RULE.test(trimmed)) return out.done();
    const marker = LEADING.exec(trimmed);
    return this.#inline(sentence, lead + (marker ? marker[0].length : 0), out);
  }

  #inline(s: string, start: number, out: Speech): SpeechText {
    let i = start;
    while (i < s.length) {
      const ch = s[i];
      const before = i > 0 ? s[i - 1] : ' ';
      // URLs and e-mail addresses (only where a word starts).
      if (!WORD_CHAR.test(before) && (ch === 'h' || ch === 'H' || ch === 'w' || ch === 'W')) {
        URL_AT.lastIndex = i;
        const url = URL_AT.exec(s);
        if (url) {
          const raw = url[0].replace(TRAILING_PUNCTUATION, '');
          const host = raw.replace(/^https?:\/\//i, '').split(/[/?#:]/)[0];
          if (host.includes('.') || /^https?:/i.test(raw)) {
            out.add(sayHost(host), i, i + raw.length);
            i += raw.length;
            continue;
          }
        }
      }
      if (WORD_CHAR.test(ch) && !WORD_CHAR.test(before) && before !== '.' && before !== '@') {
        EMAIL_AT.lastIndex = i;
        const email = EMAIL_AT.exec(s);
        if (email) {
          const [user, host] = [email[0].slice(0, email[0].indexOf('@')), email[0].slice(email[0].indexOf('@') + 1)];
          out.add(`${user} at ${sayHost(host)}`, i, i + email[0].length);
          i += email[0].length;
          continue;
        }
      }
      if (ch === ']') {
        LINK_TARGET_AT.lastIndex = i;
        const target = LINK_TARGET_AT.exec(s);
        i += target ? target[0].length : 1;
        continue;
      }
      if (ch === '[' || ch === '`' || (ch === '!' && s[i + 1] === '[')) {
        i++;
        continue;
      }
      if (ch === '*' || ch === '~' || ch === '_') {
        let j = i;
        while (j < s.length && s[j] === ch) j++;
        const after = j < s.length ? s[j] : ' ';
        const spaced = j - i === 1 && /\s/.test(before) && /\s/.test(after); // as in 2 * 3
        const inWord = ch === '_' && WORD_CHAR.test(before) && WORD_CHAR.test(after);
        if (!spaced && !inWord && !(ch === '~' && j - i === 1)) {
          i = j; // emphasis or strike-through
          continue;
        }
        out.add(s.slice(i, j), i, j);
        i = j;
        continue;
      }
      const emoji = EMOJI.exec(s.slice(i, i + 2));
      if (emoji) {
        i += emoji[0].length;
        continue;
      }
      if (/\s/.test(ch)) {
        out.add(' ', i, i + 1);
        i++;
        continue;
      }
      out.add(ch, i, i + 1);
      i++;
    }
    return out.done();
  }
}

/**
 * Where each character of `sentence` is in `text`, reading from `from`:
 * `sentence` is a piece of `text` with its white space collapsed and trimmed
 * (as the sentence splitter gives it). Returns the offsets (one per
 * character, and one past the end) and where the sentence ends in `text`.
 *
 * ```ts
 * locateSentence('Hi.\n\n  How   are you?', 3, 'How are you?').end // 21
 * ```
 */
export function locateSentence(text: string, from: number, sentence: string): { at: Int32Array; end: number } {
  const at = new Int32Array(sentence.length + 1);
  let j = from;
  while (j < text.length && /\s/.test(text[j]) && !/\s/.test(sentence[0] ?? '')) j++;
  for (let i = 0; i < sentence.length; i++) {
    const ch = sentence[i];
    if (/\s/.test(ch)) {
      at[i] = j;
      if (j < text.length && /\s/.test(text[j])) while (j < text.length && /\s/.test(text[j])) j++;
      continue;
    }
    // Skip what the splitter dropped (white space it collapsed), then take the character.
    while (j < text.length && text[j] !== ch && /\s/.test(text[j])) j++;
    at[i] = Math.min(j, text.length);
    if (j < text.length) j++;
  }
  at[sentence.length] = j;
  return { at, end: j };
}
