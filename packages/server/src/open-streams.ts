import { VoxpipeError } from '@voxpipe/core';

export interface OpenStreams {
  /** Follows a stream until the function it returns is called; `stop` ends it when the server closes. */
  track(stop: AbortController): () => void;
  /** Counts a stream the idle limit ended. */
  countIdleCut(): void;
  /** Streams ended because the client read nothing for the idle limit. */
  readonly idleCuts: number;
  readonly size: number;
  /**
   * Ends what is still open: gives streams whose connections closed a moment
   * to cancel on their own, then aborts the rest (streams not tied to a
   * connection, e.g. `app.fetch` used directly).
   */
  endAll(): Promise<void>;
}

/**
 * The server's record of the streams it is making, so `close()` can end
 * every one of them and the idle cuts can be counted.
 *
 * ```ts
 * const streams = openStreams();
 * const untrack = streams.track(stop); // … untrack() when the body ends
 * ```
 */
export function openStreams(): OpenStreams {
  const active = new Set<AbortController>();
  let idleCuts = 0;
  return {
    track(stop) {
      active.add(stop);
      return () => active.delete(stop);
    },
    countIdleCut() {
      idleCuts++;
    },
    get idleCuts() {
      return idleCuts;
    },
    get size() {
      return active.size;
    },
    async endAll() {
      for (let turn = 0; turn < 50 && active.size > 0; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
      for (const stop of [...active]) stop.abort(new VoxpipeError('aborted', 'The server is closing'));
    },
  };
}
