import { anyPcm, assemble, fade, fromStream, openSource, pcmFrames, VoxpipeError, WordTimeline, type FadeControl, type Heard, type PcmChunk } from '@voxpipe/core';
import { filter, map, type OperatorFunction } from 'rxjs';

/**
 * Makes the speech for one utterance: a stream of PCM that stops (and stops
 * its request) when `signal` aborts or the stream is cancelled. Build it from
 * `speak` (`sayWith(options)`), or from `ttsSource` + `decode` yourself.
 */
export type Say<U = string> = (utterance: U, signal: AbortSignal) => ReadableStream<PcmChunk>;

interface Base<U> {
  /** Counts utterances from 0 in the order they came. */
  id: number;
  utterance: U;
}

/** What `queue` and `bargeIn` give: each utterance's start, its audio in order, and how it ended. */
export type UtteranceEvent<U = string> =
  | (Base<U> & { type: 'start' })
  | (Base<U> & {
      type: 'audio';
      chunk: PcmChunk;
      /** Samples of this utterance given before this chunk. */
      position: number;
    })
  | (Base<U> & {
      /** It was said to the end. */
      type: 'end';
      playedSamples: number;
      playedMs: number;
      /** Its words (when its audio carries word marks): all of them. */
      heard: Heard;
    })
  | (Base<U> & {
      /** A newer utterance cut it short (or replaced it before it began: playedSamples 0). */
      type: 'interrupted';
      /** The id of the utterance that cut in. */
      by: number;
      /** Samples given when the interruption came. */
      interruptedAt: number;
      /** Samples given in all, the fade-out included: the played position at the cut. */
      playedSamples: number;
      playedMs: number;
      /**
       * What was heard of it: the words (from its audio's word marks) that
       * ended within the audio given, `text` up to the last of them as written
       * (a sink's own buffer may have played less).
       */
      heard: Heard;
    });

/**
 * Keeps the audio of `queue` / `bargeIn` output and drops the other events:
 * what a sink wants.
 *
 * ```ts
 * texts$.pipe(bargeIn(say), audioOnly()).subscribe((chunk) => player.write(chunk));
 * ```
 */
export function audioOnly<U>(): OperatorFunction<UtteranceEvent<U>, PcmChunk> {
  return (source) =>
    source.pipe(
      filter((e): e is Extract<UtteranceEvent<U>, { type: 'audio' }> => e.type === 'audio'),
      map((e) => e.chunk),
    );
}

/** One utterance being said: its request, its audio, and how to stop it gently or at once. */
export class UtteranceRun<U> {
  readonly id: number;
  readonly utterance: U;
  /** Samples given so far. */
  played = 0;
  sampleRate = 0;
  /** Set when a newer utterance cut in. */
  interruptedBy: number | undefined;
  interruptedAt = 0;
  readonly #controller = new AbortController();
  readonly #reader: ReadableStreamDefaultReader<PcmChunk> | undefined;
  readonly #fade: FadeControl | undefined;
  #failure: unknown;
  #stopped = false;
  /** Its audio ran to the end by itself. */
  #ended = false;
  #cutTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #words = new WordTimeline();

  /** Calls `say` at once, so the request starts now; `fadeMs` makes it stoppable with a fade. */
  constructor(id: number, utterance: U, say: Say<U>, fadeMs?: number) {
    this.id = id;
    this.utterance = utterance;
    try {
      const signal = this.#controller.signal;
      const stream = say(utterance, signal);
      if (fadeMs === undefined) {
        this.#reader = stream.getReader();
      } else {
        const gentle = fade({ inMs: 0, outMs: fadeMs, fadeEnd: false });
        const opened = openSource<PcmChunk>(assemble(fromStream(stream, anyPcm), gentle), { signal });
        this.#fade = opened.control(gentle);
        this.#reader = opened.readable.getReader();
      }
    } catch (error) {
      this.#failure = error;
    }
  }

  /** The next chunk, or undefined at the end (or once stopped). */
  async next(): Promise<PcmChunk | undefined> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#stopped || !this.#reader) return undefined;
    let result: ReadableStreamReadResult<PcmChunk>;
    try {
      result = await this.#reader.read();
    } catch (error) {
      if (this.#stopped || this.interruptedBy !== undefined) return undefined;
      throw error;
    }
    if (result.done && this.interruptedBy === undefined) this.#ended = true;
    if (result.done || this.#stopped) return undefined;
    const chunk = result.value;
    if (!chunk || !Array.isArray(chunk.channels)) throw new VoxpipeError('format', 'say() must give PcmChunk values', { stage: 'utterance' });
    this.sampleRate = chunk.sampleRate;
    return chunk;
  }

  /** Counts a chunk as given. */
  given(chunk: PcmChunk): number {
    const position = this.played;
    this.#words.add(chunk.marks, position / chunk.sampleRate, chunk.sampleRate);
    this.played += pcmFrames(chunk);
    return position;
  }

  /**
   * A newer utterance cut in: fade out over the next `fadeMs` of audio and
   * end; if that audio is not there within `cutAfterMs`, stop at once.
   */
  interrupt(by: number, cutAfterMs: number): void {
    if (this.interruptedBy !== undefined || this.#stopped) return;
    this.interruptedBy = by;
    this.interruptedAt = this.played;
    if (this.#fade && this.played > 0) {
      this.#fade.fadeOut();
      this.#cutTimer = setTimeout(() => this.stop(), cutAfterMs);
    } else {
      this.stop(); // nothing heard yet: nothing to fade
    }
  }

  /** Aborts its request and frees everything. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#cutTimer !== undefined) clearTimeout(this.#cutTimer);
    if (!this.#ended) {
      this.#controller.abort(new VoxpipeError('aborted', 'The utterance was stopped', { stage: 'utterance' }));
      void this.#reader?.cancel().catch(() => {});
    }
  }

  /** Its last event: `end`, or `interrupted` with the played position. */
  ending(): UtteranceEvent<U> {
    const playedMs = this.sampleRate > 0 ? (this.played * 1000) / this.sampleRate : 0;
    const base = { id: this.id, utterance: this.utterance, playedSamples: this.played, playedMs };
    if (this.interruptedBy === undefined) return { ...base, type: 'end', heard: this.#words.heardAll(playedMs / 1000) };
    return { ...base, type: 'interrupted', by: this.interruptedBy, interruptedAt: this.interruptedAt, heard: this.#words.heard(playedMs / 1000) };
  }
}
