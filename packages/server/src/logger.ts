import { jsonLogger } from './json-logger.js';

/** What the server logs once per request, when it is done (a stream: when its body ends). Never a key: its id. */
export interface RequestLine {
  /** The request's id: the client's `X-Request-Id` when it is a plain token, else made here; sent back in `X-Request-Id`. */
  requestId: string;
  method: string;
  path: string;
  status: number;
  /** The error code of an error response. */
  code?: string;
  /** The id of the key the request spoke for (never the key). */
  keyId?: string;
  model?: string;
  format?: string;
  /** Body bytes sent. */
  bytes: number;
  /** From the request to the first body byte, ms. */
  ttfbMs?: number;
  /** From the request to the body's end, ms. */
  durationMs: number;
  /** How the body ended: whole, cancelled by the client (or cut), or failed. */
  outcome: 'complete' | 'cancelled' | 'failed';
  /** Served from the audio cache. */
  cached?: boolean;
}

/** Where the server writes what it has to say. Keys are never passed to it (except the generated development key, once, at start). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
  /** One line per request; a logger without it gets none. */
  request?(line: RequestLine): void;
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The logger the `logger` server option asks for: the one given, silence for
 * `false`, else structured JSON lines on stdout (pino; pretty when stdout is
 * a terminal), one per request among them.
 *
 * ```ts
 * const logger = loggerFrom(options.logger);
 * ```
 */
export function loggerFrom(option: Logger | false | undefined): Logger {
  if (option === false) return silentLogger;
  return option ?? jsonLogger();
}

/** An error's message (or the value in words), for a log line. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
