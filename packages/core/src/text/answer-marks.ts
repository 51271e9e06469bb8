// Internal to `speak`: the answer as written, what each of its sentences is
// said as, and how a sentence's word marks land back on the answer.
import { text } from '../format.js';
import type { WordMark } from '../pcm/pcm.js';
import { transformStage, type TransformStage } from '../stage.js';
import { locateSentence, originalSpan, SpeechNormalizer, type SpeechText } from './speech-text.js';

/** A sentence as sent to the engine, and the way back from its words to the answer. */
export interface SpokenSentence {
  /** What is sent (the sentence said as prose). */
  text: string;
  /** Marks on `text` (from the engine), moved onto the answer as written; words said for one written word (a URL) become one mark. */
  place(marks: readonly WordMark[]): WordMark[] | undefined;
}

/** The answer so far and the sentences cut from it, for one run of `speak`. */
export interface AnswerMarks {
  /** Goes in front of the sentence splitter: keeps every piece of the answer as it passes. */
  readonly keeper: TransformStage<string, string>;
  /** The answer as written so far. */
  readonly answer: string;
  /** The next sentence (as the splitter gave it) as spoken; undefined when there is nothing to say. */
  say(sentence: string): SpokenSentence | undefined;
}

/** Keeps an answer as it streams past, and maps each sentence's words back onto it. */
export function answerMarks(options: { normalize: boolean }): AnswerMarks {
  let answer = '';
  let cursor = 0;
  const normalizer = new SpeechNormalizer();
  const keeper = transformStage<string, string>({
    name: 'answer',
    takes: text,
    gives: () => text,
    transformer: () => ({
      transform(piece, controller) {
        if (typeof piece === 'string') answer += piece;
        controller.enqueue(piece);
      },
    }),
  });
  return {
    keeper,
    get answer() {
      return answer;
    },
    say(sentence) {
      const speech = options.normalize ? normalizer.next(sentence) : asWritten(sentence);
      const { at, end } = locateSentence(answer, cursor, sentence);
      cursor = end;
      if (speech.text.length === 0) return undefined;
      let lastEnd = -1;
      return {
        text: speech.text,
        place(marks) {
          const written = answer;
          const out: WordMark[] = [];
          for (const mark of marks) {
            const span = originalSpan(speech, mark.charStart, mark.charEnd);
            const charStart = at[span.start];
            const charEnd = Math.max(charStart, at[Math.max(span.start, span.end - 1)] + 1);
            if (charEnd <= lastEnd) continue; // another word said for the same written word
            lastEnd = charEnd;
            out.push({ ...mark, text: written.slice(charStart, charEnd), charStart, charEnd, written });
          }
          return out.length > 0 ? out : undefined;
        },
      };
    },
  };
}

/** A sentence said as written: each character stands for itself. */
function asWritten(sentence: string): SpeechText {
  const from = Int32Array.from({ length: sentence.length }, (_, i) => i);
  return { text: sentence, from, to: from.map((i) => i + 1) };
}
