#!/usr/bin/env node
// The `voxpipe` command: say, serve, run, bench.
import { toVoxpipeError } from '@voxpipe/core';
import { cac } from 'cac';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { text as readText } from 'node:stream/consumers';
import { benchmarkNames, REPOSITORY_ROOT } from './benchmarks.js';
import { EXIT_CODES } from './exit-codes.js';
import { MODEL_NAMES } from './models.js';
import { runSpecFile } from './run-spec.js';
import { say, sayText, type SayOptions } from './say.js';
import { serve } from './serve.js';
import { limitFlags, serveSettings } from './serve-config.js';
import { latencySummary } from './summary.js';
import { UsageError } from './usage-error.js';
import { interruptedLine, keptLine, type Written } from './written.js';

// The first Ctrl-C stops the run, which finishes its file and reports; a second one quits at once,
// reporting what is written so far (a WAV's sizes are still put right as the process exits).
const controller = new AbortController();
let interrupted = 0;
let writtenSoFar: (() => Written) | undefined;
process.on('SIGINT', () => {
  if (interrupted++ === 0) return controller.abort();
  if (writtenSoFar) process.stderr.write(`${interruptedLine(writtenSoFar())}\n`);
  process.exit(EXIT_CODES.aborted);
});
process.on('SIGTERM', () => controller.abort());

const num = (value: unknown, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not "${value}"`);
  return n;
};
const str = (value: unknown): string | undefined => (value === undefined || value === true ? undefined : String(value));

const STDIN = '\u0000stdin';
const cli = cac('voxpipe');

cli
  .command('say <text>', 'Speak text (use - to read stdin) into a file, a player, or stdout as raw PCM (s16le 24 kHz mono) when there is no --out or --play')
  .option('--model <model>', `${MODEL_NAMES.join(', ')} or another aura-* name (server default: rapid-flash)`)
  .option('--voice <voice>', 'Voice name, e.g. Peter')
  .option('--language <language>', 'BCP-47 language, e.g. en-US')
  .option('--speed <speed>', 'Speed multiple, 0.5–2')
  .option('--pitch <semitones>', 'Pitch shift in semitones (rapid-flash only; write --pitch=-2 for negative)')
  .option('--format <format>', 'What to ask the server for: pcm, mp3, wav or opus')
  .option('--prebuffer <ms>', 'Audio to hold before playback starts (with --play)')
  .option('--out <file>', 'Write to file.wav, file.mp3 or file.raw (s16le 24 kHz mono); without --out or --play, raw s16le 24 kHz mono PCM goes to stdout')
  .option('--play', 'Play through aplay, paplay, ffplay, play or afplay (or VOXPIPE_PLAYER)')
  .option('--player <command>', 'The player to use with --play')
  .option('--url <url>', 'A compatible server (default: VOXPIPE_URL, else an embedded server)')
  .option('--api-key <key>', 'API key for --url (default: VOXPIPE_API_KEY)')
  .option('--retries <n>', 'Reconnect attempts when the connection drops', { default: 5 })
  .option('--on-mismatch <what>', 'When a dropped stream cannot be resumed as the same stream: fail (exit 10, the default) or restart (start --out over)')
  .option('--json', 'Print the report as JSON')
  .example('voxpipe say "Hello there" --out hello.wav')
  .example('echo "Read from stdin" | voxpipe say - --model aura-lite --play')
  .example('voxpipe say "To a pipe" | aplay -t raw -f S16_LE -r 24000 -c 1')
  .action(async (input: string, flags: Record<string, unknown>) => {
    const text = input === STDIN ? await readText(process.stdin) : input;
    const options: SayOptions = {
      model: str(flags.model),
      voice: str(flags.voice),
      language: str(flags.language),
      speed: num(flags.speed, 'speed'),
      pitch: num(flags.pitch, 'pitch'),
      format: str(flags.format) as SayOptions['format'],
      prebuffer: num(flags.prebuffer, 'prebuffer'),
      out: str(flags.out),
      play: flags.play === true,
      player: str(flags.player),
      url: str(flags.url) ?? (process.env.VOXPIPE_URL || undefined),
      apiKey: str(flags.apiKey) ?? (process.env.VOXPIPE_API_KEY || undefined),
      json: flags.json === true,
      retries: num(flags.retries, 'retries'),
      onMismatch: str(flags.onMismatch) as SayOptions['onMismatch'],
    };
    const report = await say(text, options, {
      stderr: process.stderr,
      stdoutIsTty: Boolean(process.stdout.isTTY),
      stderrIsTty: Boolean(process.stderr.isTTY),
      signal: controller.signal,
      watch: (written) => (writtenSoFar = written),
    });
    writtenSoFar = undefined;
    // stdout carries the audio unless it goes to a file or a player.
    const reportTo = options.out || options.play ? process.stdout : process.stderr;
    if (report.error) {
      const kept = keptLine(report.written);
      process.stderr.write(`voxpipe: ${report.error.code}: ${report.error.message}\n${kept ? `${kept}\n` : ''}`);
      process.exitCode = EXIT_CODES[report.error.code];
      return;
    }
    if (options.json) reportTo.write(`${JSON.stringify(report)}\n`);
    if (report.outcome === 'aborted') {
      process.stderr.write(`${interruptedLine(report.written)}\n`);
      process.exitCode = EXIT_CODES.aborted;
    } else if (!options.json) {
      reportTo.write(`${sayText(report)}\n`);
    }
  });

const serveCommand = cli
  .command('serve', 'Run the /v1/tts/stream server with the embedded speech engine; settings from --config file.json, flags over it')
  .option('--config <file>', 'JSON settings: port, host, keys, keysFile, corsOrigins, trustProxy, limits {maxBodyBytes, …}, redis, redisWhenDown, cacheBytes, metricsToken, metricsPort, drainMs (flags override it)')
  .option('--port <port>', 'Port (default 8787; 0 picks a free one)')
  .option('--host <host>', 'Interface to listen on (default 127.0.0.1; 0.0.0.0 for the network)')
  .option('--keys <keys>', 'Comma-separated API keys (default: VOXPIPE_API_KEYS, else a development key is printed)')
  .option('--keys-file <file>', 'API keys, one per line (default: VOXPIPE_API_KEYS_FILE)')
  .option('--cors-origins <origins>', 'Origins browsers may call from: * (the default) or a comma-separated list, e.g. https://app.example')
  .option('--trust-proxy', "Behind a reverse proxy: the client's address is X-Forwarded-For's first hop (for failed-login throttling)")
  .option('--redis <url>', 'Share limits with every server on this Redis: redis://host:6379 (default: VOXPIPE_REDIS_URL, else each server alone)')
  .option('--redis-when-down <mode>', 'While Redis is unreachable: local (decide with this server\'s own limits, the default) or refuse (503)')
  .option('--cache-bytes <n>', 'Audio cache of complete streams by ETag, bytes (default 67108864; 0 turns it off)')
  .option('--metrics-token <token>', 'GET /metrics needs Authorization: Bearer <token> (default: answered to this machine only)')
  .option('--metrics-port <port>', 'Serve GET /metrics on this port on 127.0.0.1 instead of the API port')
  .option('--drain-ms <ms>', 'On SIGTERM: open streams may finish for this long before they are cut; /readyz is 503 meanwhile (default 10000)');
for (const [flag, description] of limitFlags()) serveCommand.option(flag, description);
serveCommand
  .example('voxpipe serve --port 8787 --keys "$KEY" --cors-origins https://app.example --max-body-bytes 16384')
  .example('voxpipe serve --config voxpipe.json --burst 50')
  .example('voxpipe serve --host 0.0.0.0 --keys-file /etc/voxpipe/keys --redis redis://redis.internal:6379 --metrics-port 9464')
  .action(async (flags: Record<string, unknown>) => {
    await serve(serveSettings(flags), controller.signal, (l) => console.log(l));
  });

cli
  .command('run <spec>', 'Run a pipeline spec (JSON); ttsSource with baseUrl "embedded" uses an in-process server')
  .option('--json', 'Print the result as JSON')
  .action(async (spec: string, flags: Record<string, unknown>) => {
    const result = await runSpecFile(spec, controller.signal);
    const report = { outcome: result.outcome, metrics: result.metrics };
    console.log(flags.json ? JSON.stringify(report) : `${result.outcome}\n${latencySummary(result.metrics)}`);
    if (result.outcome === 'aborted') process.exitCode = EXIT_CODES.aborted;
  });

const benchmarks = benchmarkNames();
cli
  .command(
    'bench [...names]',
    benchmarks.length > 0
      ? `Run the benchmarks (all, or some of: ${benchmarks.join(' ')}) and print figures`
      : 'Run the benchmarks and print figures (they come with the source repository, not the published package)',
  )
  .action((names: string[]) => {
    if (benchmarks.length === 0) throw new UsageError('The benchmarks come with the voxpipe repository, not the published package: clone it, then run `npx -y pnpm@12.21.0 install && npx -y pnpm@12.21.0 bench`');
    const unknown = names.filter((name) => !benchmarks.includes(name));
    if (unknown.length > 0) throw new UsageError(`Unknown benchmark ${unknown.map((name) => `"${name}"`).join(', ')}; the benchmarks are: ${benchmarks.join(' ')}`);
    const result = spawnSync(join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPOSITORY_ROOT, 'bench', 'run.ts'), ...names], { stdio: 'inherit' });
    process.exitCode = result.status ?? 1;
  });

// A command's own --help leads with what it does (the argument parser shows that only in the command list),
// and the general help ends with the exit statuses.
cli.help((sections) => {
  const command = cli.matchedCommand;
  if (command?.description) sections.splice(2, 0, { body: `  ${command.description}` });
  else sections.push({ title: 'Exit codes', body: exitCodesHelp() });
  return sections;
});

function exitCodesHelp(): string {
  const byStatus = Object.entries(EXIT_CODES).sort(([, a], [, b]) => a - b);
  return `  0 ok, ${byStatus.map(([code, status]) => `${status} ${code}`).join(', ')}`;
}

async function main(): Promise<void> {
  try {
    // The argument parser reads a lone `-` as a flag; it means stdin here.
    cli.parse(process.argv.map((arg, i) => (i > 1 && arg === '-' ? STDIN : arg)), { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help) return;
      cli.outputHelp();
      process.exitCode = EXIT_CODES.usage;
      return;
    }
    await cli.runMatchedCommand();
  } catch (error) {
    if (isUsageError(error)) {
      process.stderr.write(`voxpipe: usage: ${(error as Error).message}\n`);
      process.exitCode = EXIT_CODES.usage;
      return;
    }
    const failure = toVoxpipeError(error);
    process.stderr.write(`voxpipe: ${failure.code}: ${failure.message}\n`);
    process.exitCode = EXIT_CODES[failure.code];
  }
}

/** A command line the command cannot take: ours, or the argument parser's. */
function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || (error instanceof Error && error.name === 'CACError');
}

await main();
