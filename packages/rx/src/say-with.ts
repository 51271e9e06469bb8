import { assemble, fromIterable, openSource, speak, text, type PcmChunk, type RunEvent, type SpeakOptions } from '@voxpipe/core';
import type { Say } from './utterance.js';

/** What `sayWith` can say: a whole text, or a stream of pieces (an LLM's tokens). */
export type Speakable = string | Iterable<string> | AsyncIterable<string>;

/**
 * A `Say` made from `speak`: each utterance — a text, or an LLM token stream
 * — is spoken sentence by sentence with prefetch, and aborting stops its
 * requests. `onEvent` hears the speak stage's events (request, sentence, …).
 *
 * ```ts
 * const say = sayWith({ baseUrl, apiKey, voice: 'Anna', model: 'aura-lite' });
 * turns$.pipe(bargeIn(say), audioOnly()).subscribe(play);
 * ```
 */
export function sayWith(options: SpeakOptions, onEvent?: (event: RunEvent) => void): Say<Speakable> {
  const stage = speak(options); // checks the options once
  return (utterance, signal) => {
    const pieces = typeof utterance === 'string' ? [utterance] : utterance;
    return openSource<PcmChunk>(assemble(fromIterable(pieces, { format: text }), stage), { signal, onEvent }).readable;
  };
}
