import type { SourceStage, StageContext } from '../stage.js';

/** What re-opening a byte source at an offset gave back. */
export interface ResumeResponse {
  /**
   * 206 when the server honoured the range, 200 when it sent the whole
   * stream again, 416 when there was nothing left from the offset.
   */
  status: number;
  /** Where `body` starts in the whole stream: the range's start for 206 (from Content-Range), 0 for 200, the offset for 416. */
  start: number;
  /** The last byte `body` holds (inclusive), when the server said it (Content-Range `bytes N-L/…`). */
  end?: number;
  /** The whole stream's length, when the server said it (Content-Range's total, a 200's Content-Length). */
  total?: number;
  /**
   * The response's strong validator (its `ETag`, quotes included), when it
   * sent one; a weak one (`W/"…"`) does not count. Two responses with the
   * same validator are the same bytes: what lets a resume be proven.
   */
  validator?: string;
  /** The bytes from `start` on; `null` when there is nothing left to send. */
  body: ReadableStream<Uint8Array> | null;
}

/** What one (re-)open is asked for. */
export interface ResumeRequest {
  /** The first byte wanted (`Range: bytes=<offset>-` when above 0). */
  offset: number;
  /**
   * The validator of the stream being resumed (sent as `If-Range` with the
   * Range): a server that has another stream now answers 200 with all of it
   * instead of a range of the wrong bytes.
   */
  validator?: string;
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
 * caller counts bytes and marks `first-byte`, and checks that a resumed
 * response is the stream it began (status, `validator`, `start`, `total`).
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
