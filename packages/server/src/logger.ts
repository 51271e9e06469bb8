/** Where the server writes what it has to say. Keys are never passed to it (except the generated development key, once, at start). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

const consoleLogger: Logger = {
  info: (m) => console.log(`[voxpipe] ${m}`),
  warn: (m) => console.warn(`[voxpipe] ${m}`),
  error: (m) => console.error(`[voxpipe] ${m}`),
};
const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The logger the `logger` server option asks for: the one given, silence for
 * `false`, else the console with a `[voxpipe]` prefix.
 *
 * ```ts
 * const logger = loggerFrom(options.logger);
 * ```
 */
export function loggerFrom(option: Logger | false | undefined): Logger {
  if (option === false) return silentLogger;
  return option ?? consoleLogger;
}

/** An error's message (or the value in words), for a log line. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
