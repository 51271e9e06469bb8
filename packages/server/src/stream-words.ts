import type { PcmChunk, TimedWord } from '@voxpipe/core';
import { audioByteAt, OUTPUT_RATE } from './audio.js';
import type { AudioFormatName } from './catalog.js';

/** A word of a stream, and the audio byte its line goes before. */
export interface PlacedWord extends TimedWord {
  /** Where its first sample is in the response's audio bytes (see `audioByteAt`). */
  byte: number;
}

/**
 * The words of one stream as the engine marks them, timed from the start of
 * the response's PCM: `start` is the time of the 24 kHz sample the word
 * lands on (resample's rule: the first output sample at or after the
 * engine's mark), so a client's round(start × 24000) is that very sample;
 * `end` is where the engine says the word ends (never before `start`);
 * each placed on the audio byte that holds its first sample. The server's
 * with-timestamps route feeds it the engine's chunks before they are encoded
 * (`wordTap`) and takes the words off as the encoded audio reaches them.
 *
 * ```ts
 * const words = new StreamWords('mp3', engine.sampleRate);
 * words.add(chunk); const ready = words.take(bytesSoFar);
 * ```
 */
export class StreamWords {
  readonly #format: AudioFormatName;
  readonly #rate: number;
  #frames = 0;
  #ended = false;
  #words: PlacedWord[] = [];

  constructor(format: AudioFormatName, engineRate: number) {
    this.#format = format;
    this.#rate = engineRate;
  }

  /** Takes the marks of the engine's next chunk. */
  add(chunk: PcmChunk): void {
    for (const mark of chunk.marks ?? []) {
      const frame = this.#frames + mark.frame;
      const start = Math.floor((frame * OUTPUT_RATE + this.#rate - 1) / this.#rate) / OUTPUT_RATE;
      this.#words.push({
        text: mark.text,
        start: round(start),
        end: round(Math.max(start, frame / this.#rate + mark.duration)),
        charStart: mark.charStart,
        charEnd: mark.charEnd,
        byte: audioByteAt(this.#format, frame, this.#rate),
      });
    }
    this.#frames += chunk.channels[0]?.length ?? 0;
  }

  /** The engine's PCM has ended: no word will be added. */
  end(): void {
    this.#ended = true;
  }

  /** Audio bytes before this hold no word still to be added (every later word starts at or after it). */
  get settled(): number {
    return this.#ended ? Infinity : audioByteAt(this.#format, this.#frames, this.#rate);
  }

  /** Where the next word waiting is placed (Infinity when none waits). */
  get next(): number {
    return this.#words[0]?.byte ?? Infinity;
  }

  /** Takes the words waiting that are placed before byte `end`, in order. */
  take(end: number): PlacedWord[] {
    let n = 0;
    while (n < this.#words.length && this.#words[n].byte < end) n++;
    return n === 0 ? [] : this.#words.splice(0, n);
  }
}

/** Seconds to the microsecond (a 24 kHz sample is 42 µs): short lines, the same sample. */
function round(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}
