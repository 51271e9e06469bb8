import * as v from 'valibot';
import { VoxpipeError } from '../errors.js';
import { text } from '../format.js';
import { parseOptions } from '../options.js';
import { transformStage, type TransformStage } from '../stage.js';
import { scanSentences, scanSettings, tidySentence } from './sentence-scan.js';

const schema = v.strictObject({
  /**
   * When text has been waiting this long without a sentence ending, give what
   * is there up to the last word boundary. Off (undefined or 0) by default.
   */
  maxWaitMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  /** A sentence longer than this is cut at its last comma, semicolon or colon before it (else at a space). */
  maxChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(8), v.maxValue(100_000)), 250),
  /**
   * The text's language, BCP 47 (`en`, `de-DE`, `hi`, `ja`): picks the
   * abbreviations that do not end a sentence ("Mr.", "z.B.", "Sra.") and
   * ICU's locale. Default `en`; a tag Intl does not accept falls back to
   * the rules every language shares.
   */
  language: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
});

export type SentencesOptions = v.InferInput<typeof schema>;

const DEFAULT_MAX_CHARS = 250;

/**
 * Cuts a whole text into sentences, the same way `sentences()` cuts a stream.
 * The boundaries are ICU's (Intl.Segmenter), so every script's stops count —
 * 。！？ without spaces, Hindi ।, Arabic ؟ — and decimals (3.14), ellipses,
 * quotes and brackets after the stop stay whole; on top of them, per
 * `language`: abbreviations (Mr., e.g., U.S. before "Army" but not before
 * "They"; z.B., Nr., German "3. Oktober"; M., Mme.; Sr., Sra.), initials,
 * URLs and e-mail addresses never end a sentence, and a stop followed by a
 * lower-case word does not either. Every line is a sentence; one longer
 * than `maxChars` is cut at its last comma (else a space).
 *
 * ```ts
 * splitSentences('Dr. Smith paid $3.50. "Stop." She left.')
 * // ['Dr. Smith paid $3.50.', '"Stop."', 'She left.']
 * splitSentences('Am 3. Oktober ist Feiertag. Wir bleiben z.B. daheim.', { language: 'de-DE' })
 * // ['Am 3. Oktober ist Feiertag.', 'Wir bleiben z.B. daheim.']
 * ```
 */
export function splitSentences(input: string, options: { maxChars?: number; language?: string } = {}): string[] {
  return scanSentences(input, scanSettings(options.maxChars ?? DEFAULT_MAX_CHARS, options.language), true).sentences;
}

/**
 * Turns a stream of text pieces (LLM tokens, lines, whole paragraphs) into a
 * stream of sentences, each given as soon as it is known to be complete —
 * use it in front of a speech engine so speaking starts after the first
 * sentence, not the whole reply. Pieces can be cut anywhere: the sentences
 * are the same as `splitSentences` of the joined text (unless `maxWaitMs`
 * fires). A sentence is given once the text that decides it has arrived —
 * usually the next letter, the whole next word after an abbreviation such as
 * "U.S."; after 。！？ at once. Whitespace inside a sentence is collapsed.
 *
 * ```ts
 * llmTokens.pipeThrough(sentences({ maxWaitMs: 800 }).create(ctx, text))
 * // 'Hello there.' , 'How can I help?'
 * ```
 */
export function sentences(options: SentencesOptions = {}): TransformStage<string, string> {
  const parsed = parseOptions('sentences', schema, options);
  const settings = scanSettings(parsed.maxChars, parsed.language);
  const maxWaitMs = parsed.maxWaitMs ?? 0;
  return transformStage<string, string>({
    name: 'sentences',
    takes: text,
    gives: () => text,
    spec: { stage: 'sentences', options: { ...parsed } },
    transformer: (ctx) => {
      let buffer = '';
      let timer: ReturnType<typeof setTimeout> | undefined;
      /** The wait ran out and no word boundary was there yet: cut at the next one. */
      let overdue = false;
      let output: TransformStreamDefaultController<string> | undefined;

      const stopTimer = () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
      };
      ctx.defer(() => {
        stopTimer();
        overdue = false;
      });

      const pending = () => buffer.trim().length > 0;

      /** Gives the text up to the last word boundary, if there is one. */
      const cutAtWord = (): boolean => {
        const trimmedStart = buffer.length - buffer.trimStart().length;
        let k = buffer.length - 1;
        while (k > trimmedStart && !/\s/.test(buffer[k])) k--;
        if (k <= trimmedStart) return false;
        const sentence = tidySentence(buffer.slice(0, k));
        buffer = buffer.slice(k + 1);
        if (sentence) output?.enqueue(sentence);
        return true;
      };

      const armTimer = () => {
        if (maxWaitMs <= 0 || ctx.signal.aborted) return;
        if (!pending()) {
          stopTimer();
          overdue = false;
          return;
        }
        if (timer !== undefined || overdue) return;
        timer = setTimeout(() => {
          timer = undefined;
          if (ctx.signal.aborted) return;
          overdue = true;
          if (cutAtWord()) {
            overdue = false;
            armTimer();
          }
        }, maxWaitMs);
      };

      const drain = (final: boolean, out: TransformStreamDefaultController<string>) => {
        const { sentences: found, rest } = scanSentences(buffer, settings, final);
        buffer = rest;
        for (const sentence of found) out.enqueue(sentence);
        if (found.length > 0) {
          // A sentence ended: the wait starts again with what is left.
          stopTimer();
          overdue = false;
        }
      };

      return {
        start(controller) {
          output = controller;
        },
        transform(piece, controller) {
          if (typeof piece !== 'string') {
            throw new VoxpipeError('format', `"sentences" takes strings, got ${piece === null ? 'null' : typeof piece}`, { stage: 'sentences' });
          }
          if (piece.length === 0) return;
          buffer += piece;
          drain(false, controller);
          if (overdue && cutAtWord()) overdue = false;
          armTimer();
        },
        flush(controller) {
          stopTimer();
          overdue = false;
          drain(true, controller);
        },
        cancel() {
          stopTimer();
        },
      };
    },
  });
}
