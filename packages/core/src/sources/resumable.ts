import type { SourceStage, StageContext } from '../stage.js';

/** What re-opening a byte source at an offset gave back. */
export interface ResumeResponse {
  /** 206 when the server honoured the range, 200 when it sent the whole stream again. */
  status: number;
  /** Where `body` starts in the whole stream: the range's start for 206, 0 for 200. */
  start: number;
  /** The whole stream's length, when the server said it. */
  total?: number;
  /** The bytes from `start` on; `null` when there is nothing left to send. */
  body: ReadableStream<Uint8Array> | null;
}

/** What one (re-)open is asked for. */
export interface ResumeRequest {
  /** The first byte wanted (`Range: bytes=<offset>-` when above 0). */
  offset: number;
  /** 1 for the first request, 2 for the first retry, … */
  attempt: number;
  /** Aborted when this attempt is given up (stall, run abort). */
  signal: AbortSignal;
}

/**
 * A byte source that can start again part-way through — what `reconnect`
 * needs to resume without losing or repeating a byte. Opening throws a
 * `VoxpipeError` for a failed request (its `retryable` and `retryAfter`
 * decide whether and when to try again). The body it returns is raw: the
 * caller counts bytes and marks `first-byte`.
 */
export interface Resumable {
  open(ctx: StageContext, request: ResumeRequest): Promise<ResumeResponse>;
}

/** A byte source that can be resumed at an offset. */
export interface ResumableSourceStage extends SourceStage<Uint8Array> {
  readonly resumable: Resumable;
}

/** True when the source can re-open at an offset. */
export function isResumable(source: SourceStage<Uint8Array>): source is ResumableSourceStage {
  const candidate = (source as Partial<ResumableSourceStage>).resumable;
  return typeof candidate?.open === 'function';
}
