import type { PcmChunk, WordMark } from '../pcm/pcm.js';

/** How `spokenWords` lays out its audio. */
export interface SpokenWordsOptions {
  sampleRate?: number;
  /** Each word lasts this long per character (default 60 ms). */
  msPerChar?: number;
  /** Silence after each word (default 40 ms). */
  gapMs?: number;
  /** Frames per chunk (default 1024); the last may be shorter. */
  chunkFrames?: number;
}

/** What `spokenWords` makes: the chunks, and where each word starts, counted from the first sample. */
export interface SpokenWords {
  chunks: PcmChunk[];
  words: Array<{ text: string; charStart: number; charEnd: number; at: number; frames: number }>;
  frames: number;
}

/**
 * Stand-in speech for tests of word timing: each word of `text` (split at
 * white space) is a tone burst whose pitch changes from word to word, with
 * silence after it, cut into chunks that carry word marks as an engine's
 * would (on the word's first sample, offsets into `text`, `written: text`).
 *
 * ```ts
 * const { chunks, words } = spokenWords('Hello there, world.', { chunkFrames: 480 });
 * await pipeline(fromIterable(chunks, { format: anyPcm }), wavFile('words.wav')).done;
 * ```
 */
export function spokenWords(text: string, options: SpokenWordsOptions = {}): SpokenWords {
  const rate = options.sampleRate ?? 24000;
  const perChar = ((options.msPerChar ?? 60) * rate) / 1000;
  const gap = Math.round(((options.gapMs ?? 40) * rate) / 1000);
  const chunkFrames = options.chunkFrames ?? 1024;
  const words: SpokenWords['words'] = [];
  let frames = 0;
  for (const match of text.matchAll(/\S+/g)) {
    const length = Math.max(1, Math.round(match[0].length * perChar));
    words.push({ text: match[0], charStart: match.index, charEnd: match.index + match[0].length, at: frames, frames: length });
    frames += length + gap;
  }
  const samples = new Float32Array(frames);
  words.forEach((word, i) => {
    const hz = 220 + 40 * (i % 8);
    for (let k = 0; k < word.frames; k++) samples[word.at + k] = 0.3 * Math.sin((2 * Math.PI * hz * k) / rate);
  });
  const chunks: PcmChunk[] = [];
  let w = 0;
  for (let start = 0; start < frames; start += chunkFrames) {
    const end = Math.min(frames, start + chunkFrames);
    const marks: WordMark[] = [];
    for (; w < words.length && words[w].at < end; w++) {
      const { text: word, charStart, charEnd, at, frames: length } = words[w];
      marks.push({ frame: at - start, duration: length / rate, text: word, charStart, charEnd, written: text });
    }
    chunks.push({ sampleRate: rate, channels: [samples.slice(start, end)], ...(marks.length > 0 ? { marks } : {}) });
  }
  return { chunks, words, frames };
}
