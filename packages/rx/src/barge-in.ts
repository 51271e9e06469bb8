import { Observable, type OperatorFunction } from 'rxjs';
import { UtteranceRun, type Say, type UtteranceEvent } from './utterance.js';

export interface BargeInOptions {
  /** Fade-out of the utterance that is cut short (default 10 ms): short, so the next one starts at once, but no click. */
  fadeMs?: number;
  /** If the fade's audio has not come within this long (a stalled stream), cut at once (default 200 ms). */
  cutAfterMs?: number;
}

/**
 * Says the newest utterance, cutting the current one short (switchMap
 * semantics) — the user spoke, or the answer changed. A new utterance's
 * request starts the moment it arrives; meanwhile the current one fades out
 * over `fadeMs` (its next few ms of audio, via `fade`'s `fadeOut()`), its
 * request is aborted (the server stops synthesizing), and an `interrupted`
 * event reports how much of it was given (`playedSamples`, `playedMs`: a
 * sink's own buffer has played less). Then the new one's audio follows.
 * An utterance replaced before it began ends as `interrupted` with nothing
 * played and no `start`. Every utterance ends with exactly one `end` or
 * `interrupted`.
 *
 * ```ts
 * const audio$ = userTurns$.pipe(bargeIn(sayWith({ baseUrl, apiKey, voice: 'Anna' })));
 * audio$.pipe(audioOnly()).subscribe((chunk) => player.write(chunk));
 * ```
 */
export function bargeIn<U = string>(say: Say<U>, options: BargeInOptions = {}): OperatorFunction<U, UtteranceEvent<U>> {
  const fadeMs = options.fadeMs ?? 10;
  const cutAfterMs = options.cutAfterMs ?? 200;
  return (source) =>
    new Observable<UtteranceEvent<U>>((subscriber) => {
      let id = 0;
      /** Giving audio now. */
      let current: UtteranceRun<U> | undefined;
      /** The newest: its request runs while `current` fades. */
      let waiting: UtteranceRun<U> | undefined;
      let sourceDone = false;
      let closed = false;
      let pumping = false;

      const fail = (error: unknown) => {
        if (closed) return;
        closed = true;
        current?.stop();
        waiting?.stop();
        subscriber.error(error);
      };

      /** Gives audio until nothing is left to say (runs one at a time; new arrivals just change the state). */
      const pump = async () => {
        if (pumping || closed) return;
        pumping = true;
        try {
          while (!closed) {
            if (!current) {
              if (!waiting) {
                if (sourceDone) {
                  closed = true;
                  subscriber.complete();
                }
                return;
              }
              current = waiting;
              waiting = undefined;
              subscriber.next({ type: 'start', id: current.id, utterance: current.utterance });
              continue;
            }
            const run = current;
            const chunk = await run.next();
            if (closed) return;
            if (chunk) {
              const position = run.given(chunk);
              subscriber.next({ type: 'audio', id: run.id, utterance: run.utterance, chunk, position });
              continue;
            }
            run.stop();
            current = undefined;
            subscriber.next(run.ending());
          }
        } catch (error) {
          fail(error);
        } finally {
          pumping = false;
        }
      };

      const subscription = source.subscribe({
        next(utterance) {
          if (closed) return;
          const run = new UtteranceRun(id++, utterance, say, fadeMs);
          if (waiting) {
            // Replaced before it began.
            waiting.interrupt(run.id, cutAfterMs);
            subscriber.next(waiting.ending());
          }
          waiting = run;
          current?.interrupt(run.id, cutAfterMs);
          void pump();
        },
        error: fail,
        complete() {
          sourceDone = true;
          void pump();
        },
      });

      return () => {
        closed = true;
        subscription.unsubscribe();
        current?.stop();
        waiting?.stop();
      };
    });
}
