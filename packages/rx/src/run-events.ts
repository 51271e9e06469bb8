import type { RunEvent, RunEvents } from '@voxpipe/core';
import { Observable } from 'rxjs';

export interface RunEventsOptions {
  /** Give the events that already happened first (default true), so a late subscriber still sees `start` … `end`. */
  replay?: boolean;
}

/**
 * A run's events as an Observable that completes after the `end` event. A
 * failed run's `error` is an event like any other (its `done` still rejects),
 * so the Observable itself never errors.
 *
 * ```ts
 * runEvents(run).pipe(filter((e) => e.type === 'underrun')).subscribe((e) => console.warn('underrun at', e.t));
 * const firstAudio = await firstValueFrom(runEvents(run).pipe(filter((e) => e.type === 'first-audio')));
 * ```
 */
export function runEvents(run: { readonly events: RunEvents }, options: RunEventsOptions = {}): Observable<RunEvent> {
  const replay = options.replay ?? true;
  return new Observable<RunEvent>((subscriber) => {
    let ended = false;
    const deliver = (event: RunEvent) => {
      if (ended) return;
      subscriber.next(event);
      if (event.type === 'end') {
        ended = true;
        subscriber.complete();
      }
    };
    const past = run.events.history();
    if (replay) for (const event of past) deliver(event);
    else if (past.some((e) => e.type === 'end')) ended = true;
    if (ended) return subscriber.complete();
    return run.events.on('*', deliver);
  });
}
