import { fromIterable, ReadableStream, speak, text, type PcmChunk, type RunEvent, type SpeakOptions } from '@voxpipe/core';
import { standaloneContext } from '@voxpipe/core';
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
    const ctx = standaloneContext('speak', signal, onEvent);
    const pieces = typeof utterance === 'string' ? [utterance] : utterance;
    const input = fromIterable(pieces, { format: text }).open(ctx) as ReadableStream<string>;
    const reader = input.pipeThrough(stage.create(ctx, text), { signal }).getReader();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', finish);
      ctx.finish();
    };
    signal.addEventListener('abort', finish, { once: true });
    return new ReadableStream<PcmChunk>(
      {
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              finish();
              return controller.close();
            }
            controller.enqueue(value);
          } catch (error) {
            finish();
            throw error;
          }
        },
        async cancel(reason) {
          await reader.cancel(reason).catch(() => {});
          finish();
        },
      },
      { highWaterMark: 0 },
    );
  };
}
