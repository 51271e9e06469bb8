import { ReadableStream, VoxpipeError } from '@voxpipe/core';

export interface GuardOptions {
  /** A stream whose reader takes nothing for this long (while audio waits for it) is ended. */
  idleTimeoutMs: number;
  /** Told when the idle limit ends the stream (for the log). */
  onIdle(): void;
  /** Told when making the audio failed mid-stream (for the log). */
  onFailure(error: unknown): void;
  /**
   * Ends the connection without another byte (Node: destroys the response,
   * so the client sees a cut transfer, never error text inside its audio),
   * on the turn after the failure, once the bytes already written are on
   * their way. Without it the body stream errors instead.
   */
  abortConnection?: () => void;
}

/**
 * The response body as the server hands it out: the audio of `inner`, but a
 * failure mid-stream or a reader that stops reading for `idleTimeoutMs` ends
 * the stream cleanly (logged, the synthesis cancelled, the connection cut)
 * instead of leaking an exception into the HTTP adapter.
 *
 * ```ts
 * const body = guardBody(audio, { idleTimeoutMs: 30_000, onIdle, onFailure, abortConnection: () => res.destroy() });
 * ```
 */
export function guardBody(inner: ReadableStream<Uint8Array>, options: GuardOptions): ReadableStream<Uint8Array> {
  const reader = inner.getReader();
  let idle: ReturnType<typeof setTimeout> | undefined;
  let over = false;
  let out!: ReadableStreamDefaultController<Uint8Array>;

  const stopTimer = () => {
    if (idle !== undefined) clearTimeout(idle);
    idle = undefined;
  };
  const cut = (error: VoxpipeError) => {
    if (over) return;
    over = true;
    stopTimer();
    if (options.abortConnection) {
      // Cut on the next turn, not now: Node holds a response's writes until the end of the current one (it corks the
      // socket), so a failure that comes right after the first audio would otherwise take the status line and that
      // audio with it, and the client would see a hang-up instead of a cut transfer. The body stays open till then, so
      // the adapter cannot end the response as if it were whole.
      const abortConnection = options.abortConnection;
      setImmediate(() => {
        abortConnection();
        try {
          out.close();
        } catch {
          // already cancelled by the adapter
        }
      });
    } else {
      out.error(error);
    }
  };
  const onIdle = () => {
    idle = undefined;
    if (over) return;
    const seconds = options.idleTimeoutMs / 1000;
    void reader.cancel(new VoxpipeError('aborted', 'idle reader')).catch(() => {});
    options.onIdle();
    cut(new VoxpipeError('network', `The client read nothing for ${seconds} s; the stream was ended`));
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        out = controller;
      },
      async pull(controller) {
        stopTimer();
        if (over) return;
        try {
          const { done, value } = await reader.read();
          if (over) return;
          if (done) {
            over = true;
            return controller.close();
          }
          controller.enqueue(value);
          idle = setTimeout(onIdle, options.idleTimeoutMs);
        } catch (error) {
          if (over) return;
          options.onFailure(error);
          cut(new VoxpipeError('server', 'Making the audio failed mid-stream; the stream was ended', { cause: error }));
        }
      },
      async cancel(reason) {
        over = true;
        stopTimer();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
