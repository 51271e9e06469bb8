import { concatMap, defer, Observable, type OperatorFunction } from 'rxjs';
import { UtteranceRun, type Say, type UtteranceEvent } from './utterance.js';

/**
 * Says each utterance in turn, in the order they came (concatMap
 * semantics): the next one's request starts when the one before has been
 * said to the end. Gives `start`, the audio, and `end` per utterance.
 * Unsubscribing aborts the utterance being said.
 *
 * ```ts
 * from(['Hello.', 'How can I help?']).pipe(queue(sayWith({ baseUrl, apiKey })), audioOnly()).subscribe(play);
 * ```
 */
export function queue<U = string>(say: Say<U>): OperatorFunction<U, UtteranceEvent<U>> {
  return (source) =>
    defer(() => {
      let id = 0;
      return source.pipe(concatMap((utterance) => sayOne(say, id++, utterance)));
    });
}

/** One utterance as an Observable: start, audio…, end. */
function sayOne<U>(say: Say<U>, id: number, utterance: U): Observable<UtteranceEvent<U>> {
  return new Observable<UtteranceEvent<U>>((subscriber) => {
    const run = new UtteranceRun(id, utterance, say);
    let closed = false;
    subscriber.next({ type: 'start', id, utterance });
    void (async () => {
      try {
        for (let chunk = await run.next(); chunk && !closed; chunk = await run.next()) {
          const position = run.given(chunk);
          subscriber.next({ type: 'audio', id, utterance, chunk, position });
        }
        if (closed) return;
        run.stop();
        subscriber.next(run.ending());
        subscriber.complete();
      } catch (error) {
        run.stop();
        if (!closed) subscriber.error(error);
      }
    })();
    return () => {
      closed = true;
      run.stop();
    };
  });
}
