import type { Engine } from '@voxpipe/core';
import { ApiError } from './api-error.js';

/** An engine that can say whether it would keep every stream ahead of real time with one more (the espeak engine can). */
export interface AdmittingEngine extends Engine {
  admit(request: { text: string; speed?: number; owner?: string }): { release(): void } | { retryAfter: number };
}

/**
 * Asks the engine whether it can take this stream and keep every open one
 * ahead of its listener; refuses with 429 `engine-busy` and `Retry-After`
 * when it cannot. Returns the function that gives the engine back the
 * stream's reservation (call it when the stream ends, however it ends). An
 * engine that cannot tell admits everything.
 *
 * ```ts
 * const release = admitToEngine(engine, { text, speed, owner: keyId }); // … release() when the body ends
 * ```
 */
export function admitToEngine(engine: Engine, request: { text: string; speed?: number; owner?: string }): () => void {
  const admit = (engine as Partial<AdmittingEngine>).admit;
  if (typeof admit !== 'function') return () => {};
  const admitted = admit.call(engine, request);
  if ('retryAfter' in admitted) {
    throw new ApiError(429, 'engine-busy', 'The speech engine is at capacity: another stream now would make streams fall behind real time', {
      'Retry-After': String(admitted.retryAfter),
    });
  }
  return () => admitted.release();
}
