/** What went wrong, in words a caller can branch on. */
export type ErrorCode =
  | 'auth'
  | 'rate-limit'
  | 'bad-request'
  | 'network'
  | 'server'
  | 'decode'
  | 'format'
  | 'aborted'
  | 'device'
  /** A reconnect could not prove that what the server sent on a resume is the same stream as before. */
  | 'resume-mismatch'
  | 'internal';

const RETRYABLE: Record<ErrorCode, boolean> = {
  auth: false,
  'rate-limit': true,
  'bad-request': false,
  network: true,
  server: true,
  decode: false,
  format: false,
  aborted: false,
  device: false,
  'resume-mismatch': false,
  internal: false,
};

export interface VoxpipeErrorOptions {
  /** The stage that raised it, when one did. */
  stage?: string;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** Seconds to wait before retrying (from Retry-After). */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * The one error type voxpipe throws and reports: a `code` to branch on,
 * whether retrying can help, and the stage it came from.
 *
 * ```ts
 * if (err instanceof VoxpipeError && err.code === 'rate-limit') await sleep(err.retryAfter! * 1000);
 * ```
 */
export class VoxpipeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly stage: string | undefined;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: VoxpipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VoxpipeError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE[code];
    this.stage = options.stage;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; stage?: string } {
    return { code: this.code, message: this.message, retryable: this.retryable, stage: this.stage };
  }
}

/** Turns anything thrown into a VoxpipeError, keeping an existing one as it is. */
export function toVoxpipeError(error: unknown, stage?: string, fallback: ErrorCode = 'internal'): VoxpipeError {
  if (error instanceof VoxpipeError) return error;
  if (isAbortError(error)) return new VoxpipeError('aborted', 'The run was aborted', { stage, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new VoxpipeError(fallback, message, { stage, cause: error });
}

/** True for DOMException AbortError / TimeoutError and voxpipe's own `aborted`. */
export function isAbortError(error: unknown): boolean {
  if (error instanceof VoxpipeError) return error.code === 'aborted';
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}
