import { Writable } from 'node:stream';
import { pino, type DestinationStream } from 'pino';
import type { Logger, RequestLine } from './logger.js';

export interface JsonLoggerOptions {
  /** Where lines go. Default stdout. */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON. Default: when stdout is a terminal. */
  pretty?: boolean;
  /** Lowest level written: `debug`, `info` (the default), `warn`, `error`. */
  level?: 'debug' | 'info' | 'warn' | 'error';
}

const LEVELS: Record<number, string> = { 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR' };

/**
 * The server's default logger: pino, one JSON object a line
 * (`{"level":30,"time":…,"msg":…}`), requests as `{"msg":"request",
 * "requestId":…,"keyId":…,"model":…,"status":…,"bytes":…,"ttfbMs":…,
 * "durationMs":…}`; in a terminal the same lines in words.
 *
 * ```ts
 * const server = createServer({ logger: jsonLogger({ level: 'warn' }) });
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const destination = options.destination ?? (pretty ? prettyLines(process.stdout) : stdoutLines());
  const log = pino({ base: undefined, level: options.level ?? 'info' }, destination);
  return {
    info: (m) => log.info(m),
    warn: (m) => log.warn(m),
    error: (m) => log.error(m),
    debug: (m) => log.debug(m),
    request: (line: RequestLine) => log.info(line, 'request'),
  };
}

let stdout: DestinationStream | undefined;
/** One asynchronous writer to stdout for every server in the process, flushed when the process exits. */
function stdoutLines(): DestinationStream {
  if (!stdout) {
    const made = pino.destination({ fd: 1, sync: false });
    process.once('exit', () => made.flushSync());
    stdout = made;
  }
  return stdout;
}

/** A stream that turns pino's JSON lines into `12:00:01 INFO request POST /v1/tts/stream 200 …` for a terminal. */
export function prettyLines(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const raw of chunk.toString('utf8').split('\n')) {
        if (raw.trim() === '') continue;
        try {
          const { level, time, msg, ...rest } = JSON.parse(raw) as Record<string, unknown>;
          const when = new Date(Number(time)).toISOString().slice(11, 23);
          const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
          out.write(`${when} ${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ${String(msg)}${fields.length ? ` ${fields.join(' ')}` : ''}\n`);
        } catch {
          out.write(`${raw}\n`);
        }
      }
      done();
    },
  });
}
