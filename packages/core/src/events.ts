import type { VoxpipeError } from './errors.js';
import type { Format } from './format.js';

/** How a run ended. */
export type Outcome = 'completed' | 'aborted' | 'error';

/** Every event a run can report, by type, with what it carries. */
export interface RunEventMap {
  start: Record<string, never>;
  /** A request left for the server (each attempt). */
  request: { url?: string; attempt?: number };
  /** A response's status and declared audio format. */
  response: { status: number; format?: Format };
  'first-byte': Record<string, never>;
  /** The first decoded PCM sample exists. */
  'first-audio': Record<string, never>;
  /** The first chunk above the audibility threshold passed the meter. */
  'first-audible': { db: number };
  /** A sink started playing. */
  'playback-start': Record<string, never>;
  /** A prebuffer is holding audio back (at start, or after an underrun). */
  buffering: { bufferedMs: number; reason: 'start' | 'underrun' };
  /** A prebuffer let audio flow. */
  playing: { bufferedMs: number };
  /** A consumer wanted audio and none was there. */
  underrun: { bufferedMs: number };
  /** Levels of one chunk, from `meter`. */
  level: { rmsDb: number; peakDb: number };
  reconnect: { attempt: number; offset: number; reason: string };
  retry: { attempt: number; delayMs: number; reason: string };
  'give-up': { attempts: number; reason: string };
  /**
   * `reconnect({ onMismatch: 'restart' })` could not prove a resume was the
   * same stream: the `offset` bytes it delivered belong to an abandoned
   * stream, and the bytes after this event are a new stream from its first byte.
   */
  restart: { offset: number; reason: string };
  /**
   * A sink began playing a word (its first sample reached the speaker, or the
   * file): the word as written, its UTF-16 offsets in the spoken text
   * (`speak`: the whole answer), `index` counting words from 0, `atMs` its
   * start in the audio played so far and `durationMs` how long it lasts.
   */
  word: { index: number; text: string; charStart: number; charEnd: number; atMs: number; durationMs: number };
  /** `speak` began giving the audio of a sentence (index counts from 0). */
  sentence: { index: number; text: string };
  /** Something went wrong and was handled (e.g. a corrupt MP3 frame skipped; code `listener`: an event listener threw). */
  warning: { code: string; message: string };
  end: { outcome: Outcome };
  error: { error: VoxpipeError };
}

export type RunEventType = keyof RunEventMap;

/** One reported event: its type, when (ms since the run started), who said it, and its detail. */
export interface RunEvent<K extends RunEventType = RunEventType> {
  type: K;
  /** Milliseconds since the run started. */
  t: number;
  /** The stage that reported it, if a stage did. */
  stage?: string;
  detail: RunEventMap[K];
}

export type RunEventListener<K extends RunEventType> = (event: RunEvent<K>) => void;
type AnyListener = (event: RunEvent) => void;

/**
 * A run's events, typed, with no dependency on Node's EventEmitter or the
 * DOM's EventTarget, so it works the same everywhere. `on('*', …)` hears all.
 *
 * ```ts
 * run.events.on('underrun', (e) => console.log('underrun at', e.t, 'ms'));
 * const first = await run.events.once('first-audio');
 * ```
 */
export class RunEvents {
  readonly #listeners = new Map<string, Set<AnyListener>>();
  readonly #history: RunEvent[] = [];
  readonly #keep: number;

  constructor(options: { keep?: number } = {}) {
    this.#keep = options.keep ?? 256;
  }

  on<K extends RunEventType>(type: K | '*', listener: RunEventListener<K>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as AnyListener);
    return () => this.off(type, listener);
  }

  off<K extends RunEventType>(type: K | '*', listener: RunEventListener<K>): void {
    this.#listeners.get(type)?.delete(listener as AnyListener);
  }

  /** Resolves with the next event of `type`, or at once if it already happened. */
  once<K extends RunEventType>(type: K): Promise<RunEvent<K>> {
    const past = this.#history.find((e) => e.type === type);
    if (past) return Promise.resolve(past as RunEvent<K>);
    return new Promise((resolve) => {
      const off = this.on(type, (event) => {
        off();
        resolve(event);
      });
    });
  }

  /** The events so far (the first `keep`, default 256, then only errors and ends). */
  history(): readonly RunEvent[] {
    return this.#history;
  }

  /**
   * Reports an event to every listener. A listener that throws does not stop
   * the run and does not reach the process: its error is reported as a
   * `warning` event (code `listener`) to the other listeners. An error thrown
   * while hearing such a warning is dropped, so a throwing `warning` or `*`
   * listener cannot loop.
   */
  emit<K extends RunEventType>(event: RunEvent<K>): void {
    this.#record(event as RunEvent);
    this.#deliver(event as RunEvent, undefined);
  }

  #record(event: RunEvent): void {
    if (this.#history.length < this.#keep || event.type === 'end' || event.type === 'error') this.#history.push(event);
  }

  /** Calls every listener of the event but `skip`; reports the ones that throw, unless this is such a report. */
  #deliver(event: RunEvent, skip: AnyListener | undefined): void {
    const failed: Array<{ listener: AnyListener; error: unknown }> = [];
    for (const key of [event.type, '*']) {
      const set = this.#listeners.get(key);
      if (!set) continue;
      for (const listener of [...set]) {
        if (listener === skip) continue;
        try {
          listener(event);
        } catch (error) {
          failed.push({ listener, error });
        }
      }
    }
    if (skip !== undefined) return; // a listener's failure is reported once, never about its own report
    for (const { listener, error } of failed) {
      const warning: RunEvent<'warning'> = {
        type: 'warning',
        t: event.t,
        ...(event.stage === undefined ? {} : { stage: event.stage }),
        detail: { code: 'listener', message: `A listener of "${event.type}" threw: ${describe(error)}` },
      };
      this.#record(warning as RunEvent);
      this.#deliver(warning as RunEvent, listener);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  try {
    return String(error);
  } catch {
    return 'an unprintable value';
  }
}
