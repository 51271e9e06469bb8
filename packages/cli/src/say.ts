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
  ttsSource,
  VoxpipeError,
  type AnyStage,
  type RunMetrics,
  type SinkStage,
} from '@voxpipe/core';
import { play, rawFile, stdout, wavFile } from '@voxpipe/node';
import { extname } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from './embedded.js';
import { latencySummary, progressLine } from './summary.js';

export interface SayOptions {
  model?: string;
  voice?: string;
  language?: string;
  speed?: number;
  pitch?: number;
  /** What to ask the server for: pcm, mp3 or wav. */
  format?: 'pcm' | 'mp3' | 'wav';
  /** Audio to hold before playback, in ms. */
  prebuffer?: number;
  out?: string;
  play?: boolean;
  player?: string;
  url?: string;
  apiKey?: string;
  json?: boolean;
  retries?: number;
}

export interface SayIo {
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  stdoutIsTty: boolean;
  stderrIsTty: boolean;
  signal: AbortSignal;
}

export interface SayReport {
  out?: string;
  url: string;
  embedded: boolean;
  outcome: 'completed' | 'aborted';
  metrics: RunMetrics;
}

const FORMATS = new Set(['pcm', 'mp3', 'wav']);

/** Chooses the sink and what to ask the server for, from where the audio goes. */
function destination(options: SayOptions, io: SayIo, tally: AnyStage): { stages: AnyStage[]; format: 'pcm' | 'mp3' | 'wav' } {
  const asked = options.format;
  if (asked !== undefined && !FORMATS.has(asked)) throw new VoxpipeError('bad-request', `--format must be pcm, mp3 or wav, not "${asked}"`);
  if (options.play) {
    const hold = options.prebuffer ?? 150;
    return { format: asked ?? 'pcm', stages: [decode(), prebuffer({ ms: hold }), meter(), play(options.player ? { player: options.player } : {})] };
  }
  const out = options.out;
  if (!out) {
    if (io.stdoutIsTty) throw new VoxpipeError('bad-request', 'Say where the audio goes: --out file.wav|file.mp3|file.raw, or --play (or pipe stdout)');
    return { format: asked ?? 'pcm', stages: [decode(), meter(), pcmEncode({ encoding: 's16le' }), stdout()] };
  }
  const ext = extname(out).toLowerCase();
  if (ext === '.wav') return { format: asked ?? 'pcm', stages: [decode(), meter(), wavFile(out)] };
  if (ext === '.mp3') {
    // Server MP3 passes through untouched; otherwise encode here once.
    if (asked === 'mp3') return { format: 'mp3', stages: [rawFile(out)] };
    return { format: asked ?? 'pcm', stages: [decode(), meter(), tally, mp3Encode(), rawFile(out)] };
  }
  if (ext === '.raw' || ext === '.pcm') return { format: asked ?? 'pcm', stages: [decode(), meter(), pcmEncode({ encoding: 's16le' }), rawFile(out)] };
  throw new VoxpipeError('bad-request', `--out must end in .wav, .mp3, .raw or .pcm, not "${ext || out}"`);
}

/**
 * Speaks `text` through a /v1/tts/stream server — the embedded one unless a
 * URL is given — into a file, stdout or a player, and reports the latency.
 */
export async function say(text: string, options: SayOptions, io: SayIo): Promise<SayReport> {
  if (!text.trim()) throw new VoxpipeError('bad-request', 'There is no text to say');
  let talliedMs = 0;
  const tally = transformStage<PcmChunk, PcmChunk>({
    name: 'tally',
    takes: anyPcm,
    gives: (f) => f,
    transformer: () => ({
      transform(chunk, controller) {
        talliedMs += pcmDurationMs(chunk);
        controller.enqueue(chunk);
      },
    }),
  });
  const { stages, format } = destination(options, io, tally);
  let embedded: EmbeddedServer | undefined;
  if (!options.url) embedded = await startEmbeddedServer();
  const url = options.url ?? embedded!.url;
  const apiKey = options.apiKey ?? embedded?.apiKey;
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
    const run = assemble(source, reconnect({ retries: options.retries ?? 5 }), ...(stages as [...AnyStage[], SinkStage<unknown, unknown>])).run({
      signal: io.signal,
    });
    let ticker: ReturnType<typeof setInterval> | undefined;
    if (io.stderrIsTty && !options.json) {
      ticker = setInterval(() => io.stderr.write(`\r\x1b[K${progressLine(run.metrics, run.metrics.endMs ?? performanceNow(run))}`), 100);
    }
    try {
      const result = await run.done;
      // An encoded sink (MP3) cannot count audio time; the tally before the encoder did.
      if (result.metrics.audioMs === 0 && talliedMs > 0) {
        result.metrics.audioMs = talliedMs;
        result.metrics.realTimeFactor = ((result.metrics.endMs ?? 0) - (result.metrics.requestMs ?? 0)) / talliedMs;
      }
      return { out: options.out, url, embedded: !options.url, outcome: result.outcome, metrics: result.metrics };
    } finally {
      if (ticker) {
        clearInterval(ticker);
        io.stderr.write('\r\x1b[K');
      }
    }
  } finally {
    await embedded?.close();
  }
}

function performanceNow(run: { metrics: RunMetrics }): number {
  return Date.now() - run.metrics.startedAt;
}

/** The report as text, for people. */
export function sayText(report: SayReport): string {
  const where = report.out ? `wrote ${report.out}` : 'done';
  const server = report.embedded ? 'embedded server' : report.url;
  return `${where} (${server})\n${latencySummary(report.metrics)}`;
}
