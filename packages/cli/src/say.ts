import { decode, mp3Encode } from '@voxpipe/codecs';
import {
  anyPcm,
  assemble,
  meter,
  pcmDurationMs,
  transformStage,
  type PcmChunk,
  pcmEncode,
  prebuffer,
  reconnect,
  toVoxpipeError,
  ttsSource,
  VoxpipeError,
  type AnyStage,
  type Run,
  type RunMetrics,
  type SinkStage,
} from '@voxpipe/core';
import { play, rawFile, stdout, wavFile } from '@voxpipe/node';
import { rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from './embedded.js';
import { checkModel } from './models.js';
import { latencySummary, progressLine } from './summary.js';
import { UsageError } from './usage-error.js';
import { watchedSink } from './watched-sink.js';
import { describeWritten, type Written } from './written.js';

export interface SayOptions {
  model?: string;
  voice?: string;
  language?: string;
  speed?: number;
  pitch?: number;
  /** What to ask the server for: pcm, mp3, wav or opus. */
  format?: 'pcm' | 'mp3' | 'wav' | 'opus';
  /** Audio to hold before playback, in ms. */
  prebuffer?: number;
  out?: string;
  play?: boolean;
  player?: string;
  url?: string;
  apiKey?: string;
  json?: boolean;
  retries?: number;
  /**
   * When a dropped connection cannot be resumed as the same stream: `fail`
   * (the default: exit with resume-mismatch, keeping what arrived, which is
   * all of the first stream) or `restart` (needs `out`: the file is started
   * over with a new request, at most `retries` times).
   */
  onMismatch?: 'fail' | 'restart';
}

export interface SayIo {
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  stdoutIsTty: boolean;
  stderrIsTty: boolean;
  signal: AbortSignal;
  /** Called once the run starts, with a way to read what has been written so far (e.g. to report it on a forced exit). */
  watch?(written: () => Written): void;
}

export interface SayReport {
  out?: string;
  url: string;
  embedded: boolean;
  /** `failed` comes with the error; whatever happened, `written` says what is where. */
  outcome: 'completed' | 'aborted' | 'failed';
  metrics: RunMetrics;
  written: Written;
  /** Times the file was started over because the server could not resume the stream it began (`onMismatch: 'restart'`). */
  restarts: number;
  error?: VoxpipeError;
}

const FORMATS = new Set(['pcm', 'mp3', 'wav', 'opus']);

/** What goes where: the stages after the source and reconnect, what to ask the server for, and what has been written. */
interface Destination {
  stages: AnyStage[];
  format: 'pcm' | 'mp3' | 'wav' | 'opus';
  written(): Written;
}

/** Counts the PCM that reaches an encoder, whose output cannot tell audio time. */
function pcmTally() {
  const seen = { ms: 0, bytesPerMs: 48 };
  const stage = transformStage<PcmChunk, PcmChunk>({
    name: 'tally',
    takes: anyPcm,
    gives: (f) => f,
    transformer: () => ({
      transform(chunk, controller) {
        seen.ms += pcmDurationMs(chunk);
        seen.bytesPerMs = (2 * chunk.sampleRate * chunk.channels.length) / 1000;
        controller.enqueue(chunk);
      },
    }),
  });
  return { stage, seen };
}

/** Chooses the sink and what to ask the server for, from where the audio goes. */
function destination(options: SayOptions, io: SayIo): Destination {
  const asked = options.format;
  if (asked !== undefined && !FORMATS.has(asked)) throw new UsageError(`--format must be pcm, mp3, wav or opus, not "${asked}"`);
  const tally = pcmTally();
  if (options.play) {
    const hold = options.prebuffer ?? 150;
    const player = watchedSink(play(options.player ? { player: options.player } : {}));
    const written = (): Written => {
      const r = player.result();
      return { to: 'player', bytes: r?.bytes ?? 0, audioMs: r ? (r.bytes / 2 / r.channels / r.sampleRate) * 1000 : 0 };
    };
    return { format: asked ?? 'pcm', stages: [decode(), prebuffer({ ms: hold }), meter(), player.sink], written };
  }
  const out = options.out;
  if (!out) {
    if (io.stdoutIsTty) throw new UsageError('Say where the audio goes: --out file.wav|file.mp3|file.opus|file.raw, or --play (or pipe stdout, which gets raw s16le PCM)');
    const sink = watchedSink(stdout());
    const written = (): Written => {
      const bytes = sink.result()?.bytes ?? 0;
      return { to: 'stdout', bytes, audioMs: bytes / tally.seen.bytesPerMs };
    };
    return { format: asked ?? 'pcm', stages: [decode(), meter(), tally.stage, pcmEncode({ encoding: 's16le' }), sink.sink], written };
  }
  const ext = extname(out).toLowerCase();
  if (ext === '.wav') {
    const sink = watchedSink(wavFile(out));
    const written = (): Written => {
      const r = sink.result();
      return { to: out, bytes: r?.dataBytes ?? 0, audioMs: r?.durationMs ?? 0 };
    };
    return { format: asked ?? 'pcm', stages: [decode(), meter(), sink.sink], written };
  }
  if (ext === '.mp3') {
    const sink = watchedSink(rawFile(out));
    // Server MP3 passes through untouched (its duration unknown here); otherwise encode here once.
    if (asked === 'mp3') return { format: 'mp3', stages: [sink.sink], written: () => ({ to: out, bytes: sink.result()?.bytes ?? 0 }) };
    const written = (): Written => ({ to: out, bytes: sink.result()?.bytes ?? 0, audioMs: tally.seen.ms });
    return { format: asked ?? 'pcm', stages: [decode(), meter(), tally.stage, mp3Encode(), sink.sink], written };
  }
  if (ext === '.opus' || ext === '.ogg') {
    // The server's Ogg Opus passes through untouched (there is no Opus encoder here).
    if (asked !== undefined && asked !== 'opus') throw new UsageError(`--out ${ext} takes the server's Opus: leave --format out or give --format opus, not "${asked}"`);
    const sink = watchedSink(rawFile(out));
    return { format: 'opus', stages: [sink.sink], written: () => ({ to: out, bytes: sink.result()?.bytes ?? 0 }) };
  }
  if (ext === '.raw' || ext === '.pcm') {
    const sink = watchedSink(rawFile(out));
    const written = (): Written => {
      const bytes = sink.result()?.bytes ?? 0;
      return { to: out, bytes, audioMs: bytes / tally.seen.bytesPerMs };
    };
    return { format: asked ?? 'pcm', stages: [decode(), meter(), tally.stage, pcmEncode({ encoding: 's16le' }), sink.sink], written };
  }
  throw new UsageError(`--out must end in .wav, .mp3, .opus, .ogg, .raw or .pcm, not "${ext || out}"`);
}

/**
 * Speaks `text` through a /v1/tts/stream server — the embedded one unless a
 * URL is given — into a file, stdout or a player, and reports the latency
 * and what was written where. A command line it cannot take throws a
 * `UsageError` before anything starts; a run that fails reports the error
 * with what it left behind.
 */
export async function say(text: string, options: SayOptions, io: SayIo): Promise<SayReport> {
  if (!text.trim()) throw new UsageError('There is no text to say');
  if (options.model !== undefined) checkModel(options.model);
  const onMismatch = options.onMismatch ?? 'fail';
  if (onMismatch !== 'fail' && onMismatch !== 'restart') throw new UsageError(`--on-mismatch must be fail or restart, not "${onMismatch}"`);
  if (onMismatch === 'restart' && !options.out) {
    throw new UsageError('--on-mismatch restart needs --out: a file can be started over, but a player or stdout cannot take back what it already has');
  }
  let { stages, format, written } = destination(options, io);
  let embedded: EmbeddedServer | undefined;
  if (!options.url) embedded = await startEmbeddedServer(options.apiKey);
  const url = options.url ?? embedded!.url;
  const apiKey = options.apiKey ?? embedded?.apiKey;
  const retries = options.retries ?? 5;
  let restarts = 0;
  try {
    const source = ttsSource({
      baseUrl: url,
      apiKey,
      text,
      voice: options.voice,
      language: options.language,
      model: options.model,
      speed: options.speed,
      pitch: options.pitch,
      format,
    });
    // A restart ends this run from its `restart` event (the stages after reconnect already hold the abandoned
    // stream's audio), removes the file it left, and runs again with fresh stages and a new request. The last
    // run allowed fails with resume-mismatch instead.
    for (;;) {
      const attempt = new AbortController();
      const onAbort = () => attempt.abort(io.signal.reason);
      if (io.signal.aborted) onAbort();
      else io.signal.addEventListener('abort', onAbort, { once: true });
      const mayRestart = onMismatch === 'restart' && restarts < retries;
      const stream = reconnect({ retries, onMismatch: mayRestart ? 'restart' : 'fail' });
      const run = assemble(source, stream, ...(stages as [...AnyStage[], SinkStage<unknown, unknown>])).run({ signal: attempt.signal });
      const restart: { reason?: string } = {};
      run.events.on('restart', (event) => {
        restart.reason = event.detail.reason;
        attempt.abort(new VoxpipeError('aborted', `Starting over: ${event.detail.reason}`));
      });
      try {
        const report = await runOnce(run);
        if (restart.reason === undefined || io.signal.aborted) return report;
      } finally {
        io.signal.removeEventListener('abort', onAbort);
      }
      restarts++;
      io.stderr.write(`voxpipe: starting ${options.out} over: ${restart.reason}\n`);
      await rm(options.out!, { force: true });
      ({ stages, format, written } = destination(options, io));
    }
  } finally {
    await embedded?.close();
  }

  async function runOnce(run: Run<unknown>): Promise<SayReport> {
    io.watch?.(written);
    let ticker: ReturnType<typeof setInterval> | undefined;
    if (io.stderrIsTty && !options.json) {
      ticker = setInterval(() => io.stderr.write(`\r\x1b[K${progressLine(run.metrics, run.metrics.endMs ?? performanceNow(run))}`), 100);
    }
    const report = (outcome: SayReport['outcome'], metrics: RunMetrics, error?: VoxpipeError): SayReport => {
      const w = written();
      // An encoded sink (MP3, raw bytes) cannot count audio time; the tally before the encoder did.
      if (metrics.audioMs === 0 && (w.audioMs ?? 0) > 0) {
        metrics.audioMs = w.audioMs!;
        metrics.realTimeFactor = ((metrics.endMs ?? 0) - (metrics.requestMs ?? 0)) / metrics.audioMs;
      }
      return { out: options.out, url, embedded: !options.url, outcome, metrics, written: w, restarts, ...(error ? { error } : {}) };
    };
    try {
      const result = await run.done;
      return report(result.outcome, result.metrics);
    } catch (error) {
      return report('failed', run.metrics, toVoxpipeError(error));
    } finally {
      if (ticker) {
        clearInterval(ticker);
        io.stderr.write('\r\x1b[K');
      }
    }
  }
}

function performanceNow(run: { metrics: RunMetrics }): number {
  return Date.now() - run.metrics.startedAt;
}

/** The report of a completed run as text, for people. */
export function sayText(report: SayReport): string {
  const server = report.embedded ? 'embedded server' : report.url;
  return `${describeWritten(report.written)} (${server})\n${latencySummary(report.metrics)}`;
}
