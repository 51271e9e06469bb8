import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anyPcm, NOTHING_HEARD, parseOptions, pcmFrames, VoxpipeError, type Controllable, type Heard, type PcmChunk, type SinkStage } from '@voxpipe/core';
import { patchWavSizes, wavHeader, WAV_HEADER_BYTES } from '@voxpipe/codecs';
import * as v from 'valibot';
import { writeWithDrain } from './io.js';
import { interleave, layoutGuard } from './pcm-bytes.js';
import { PlayerWords } from './player-words.js';
import { choosePlayer, NO_DEVICE_ADVICE, noDeviceLine, PLAYERS, recipeFor, type PlayerInput } from './players.js';

const schema = v.strictObject({
  /** The player command, a name on PATH or a path. Default: VOXPIPE_PLAYER, else the first of aplay, paplay, ffplay, play, afplay. */
  player: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Extra arguments, placed before the ones `play` adds for rate and channels (e.g. `['-D', 'null']` for aplay). */
  args: v.optional(v.array(v.string()), []),
  /** When true, `args` is the whole argument list; `{rate}`, `{channels}` and `{file}` in it are filled in. */
  replaceArgs: v.optional(v.boolean(), false),
  /** What the player is fed: raw s16le PCM or a WAV on stdin, or a finished WAV file. Default: what the player is known to read. */
  input: v.optional(v.picklist(['pcm', 'wav', 'file'])),
  /** Environment for finding and running the player, over process.env (PATH, VOXPIPE_PLAYER, AUDIODEV, …). */
  env: v.optional(v.record(v.string(), v.string())),
  /** Audio the player holds before it is heard (its buffer), for `word` events and heard text. Default: 500 for aplay (its own default), else 200. */
  bufferMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000))),
});

export type PlayOptions = v.InferInput<typeof schema>;

/** What a `play` run gives back. */
export interface PlayResult {
  /** The player that ran, as a path. */
  player: string;
  /** Audio bytes fed to it (s16le). */
  bytes: number;
  sampleRate: number;
  channels: number;
  /** The words heard (all of them, when the player finished). */
  heard: Heard;
}

/** One run's handle on `play` (`run.control(sink)`): what has been heard, and stop. */
export interface PlayControl {
  /** What has been heard so far: the words that finished playing, by what the player consumed less its buffer. */
  heard(): Heard;
  /** Stops the player at once, ends the run (`aborted`) and resolves with what was heard. */
  stop(): Promise<Heard>;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

interface Player {
  child: ChildProcess;
  exited: Promise<Exit>;
  done: boolean;
  stdinBroken: boolean;
  stderr: string;
}

/**
 * A sink that plays PCM through an external player found on PATH — aplay,
 * paplay, ffplay, sox's `play` or afplay, the first found (or the `player`
 * option, or VOXPIPE_PLAYER) — so playback needs no native build. The audio
 * is fed as 16-bit PCM on the player's stdin as it arrives, at the player's
 * pace (stdin backpressure), and the run ends when the player has finished.
 * `playback-start` is marked when the first bytes go to the player. Aborting
 * kills the player. No player, or a player that finds no sound card or
 * sound server, is a `device` error that says what is missing and what to
 * do; a player that fails otherwise is a `bad-request` error carrying its
 * exit code and last words. (afplay cannot read a pipe: its
 * audio goes to a temporary WAV that plays when the stream ends.)
 *
 * ```ts
 * await pipeline(ttsSource({ baseUrl, text: 'Hello' }), decode(), play()).done;
 * await pipeline(tone({ ms: 500 }), play({ player: 'aplay', args: ['-D', 'null'] })).done;
 * ```
 */
export function play(options: PlayOptions = {}): SinkStage<PcmChunk, PlayResult> & Controllable<PlayControl> {
  const o = parseOptions('play', schema, options);
  return {
    role: 'sink',
    name: 'play',
    takes: anyPcm,
    spec: { stage: 'play', options: { ...o } },
    open(ctx, format) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
      const guard = layoutGuard('play');
      let layout = { sampleRate: format.sampleRate ?? 24000, channels: format.channels ?? 1 };
      let command = '';
      let path = '';
      let mode: PlayerInput = 'pcm';
      let player: Player | undefined;
      let temp: { dir: string; file: string; handle: FileHandle; header: Uint8Array; bytes: number } | undefined;
      let bytes = 0;
      // Words: placed on the audio as it is fed, started and heard by the player's clock.
      let words: PlayerWords | undefined;
      const wordsFor = () => (words ??= new PlayerWords(ctx, layout.sampleRate, o.bufferMs ?? (recipeFor(command) === PLAYERS.aplay ? 500 : 200)));
      let finished = false;
      const heardNow = (): Heard => words?.heard() ?? NOTHING_HEARD;
      let stopping: Promise<Heard> | undefined;
      ctx.provide({
        heard: heardNow,
        stop() {
          stopping ??= Promise.resolve().then(() => {
            const heard = heardNow();
            if (!finished && !ctx.signal.aborted) ctx.end('aborted', 'Playback was stopped');
            return heard;
          });
          return stopping;
        },
      } satisfies PlayControl);

      const argsFor = (file?: string) => {
        if (o.replaceArgs) {
          return o.args.map((a) =>
            a.replaceAll('{rate}', `${layout.sampleRate}`).replaceAll('{channels}', `${layout.channels}`).replaceAll('{file}', file ?? '-'),
          );
        }
        const recipe = recipeFor(command);
        const own = mode === recipe.input ? recipe.args(layout.sampleRate, layout.channels) : mode === 'file' ? [] : ['-'];
        return [...o.args, ...own, ...(file ? [file] : [])];
      };

      const failure = async (p: Player, stage = 'play'): Promise<VoxpipeError> => {
        if (!p.done) await stopPlayer(p);
        const exit = await p.exited;
        const said = p.stderr.trim().split('\n').slice(-3).join(' | ');
        if (exit.error) {
          return new VoxpipeError('device', `Audio player "${command}" could not start: ${exit.error.message}; install it again, choose another player, ${NO_DEVICE_ADVICE}`, {
            stage,
            cause: exit.error,
          });
        }
        const noDevice = noDeviceLine(p.stderr);
        if (noDevice) {
          return new VoxpipeError(
            'device',
            `No audio output device: "${command}" could not open one (${noDevice}). Check that this machine has a sound card or sound server this user may use (for ALSA, aplay -l lists the cards), ${NO_DEVICE_ADVICE}.`,
            { stage },
          );
        }
        const how = exit.signal ? `was killed by ${exit.signal}` : exit.code === 0 ? 'exited before the audio ended' : `exited with code ${exit.code}`;
        return new VoxpipeError('bad-request', `Audio player "${command}" ${how}${said ? `: ${said}` : ''}`, { stage });
      };

      const begin = async () => {
        if (mode === 'file') {
          const dir = await mkdtemp(join(tmpdir(), 'voxpipe-play-'));
          const file = join(dir, 'audio.wav');
          const header = wavHeader({ ...layout, encoding: 's16le' });
          const handle = await open(file, 'w');
          temp = { dir, file, handle, header, bytes: 0 };
          await handle.write(header, 0, header.byteLength, 0);
          return;
        }
        player = startPlayer(path, argsFor(), env);
        if (mode === 'wav') await feed(wavHeader({ ...layout, encoding: 's16le' }));
      };

      const feed = async (data: Uint8Array) => {
        const p = player!;
        if (p.done || p.stdinBroken) throw await failure(p);
        const pending = writeWithDrain(p.child.stdin!, data, ctx.signal);
        ctx.mark('playback-start');
        await pending;
        if (ctx.signal.aborted) return;
        if (p.done || p.stdinBroken) throw await failure(p);
      };

      const finishFile = async () => {
        const t = temp!;
        await t.handle.write(patchWavSizes(t.header, t.bytes), 0, WAV_HEADER_BYTES, 0);
        await t.handle.close();
        player = startPlayer(path, argsFor(t.file), env);
        player.child.stdin!.end();
        ctx.mark('playback-start');
        // The whole file starts playing now.
        words?.taken(t.bytes / (2 * layout.channels));
      };

      ctx.defer(() => {
        if (player && !player.done) player.child.kill('SIGKILL');
        if (temp) {
          void temp.handle.close().catch(() => {});
          rmSync(temp.dir, { recursive: true, force: true });
        }
      });

      return {
        sink: {
          async start() {
            ({ command, path } = await choosePlayer(o.player, env, 'play'));
            mode = o.input ?? (o.replaceArgs ? 'pcm' : recipeFor(command).input);
            // Knowing the format already, start the player now: its start-up overlaps the first audio's arrival.
            if (format.sampleRate !== undefined && format.channels !== undefined && mode !== 'file') await begin();
          },
          async write(chunk) {
            const started = player !== undefined || temp !== undefined;
            const before = layout;
            layout = guard(chunk);
            if (!started) await begin();
            else if (layout.sampleRate !== before.sampleRate || layout.channels !== before.channels) {
              throw new VoxpipeError(
                'format',
                `"play" started the player for ${before.sampleRate} Hz × ${before.channels} ch (the declared format) but the audio is ${layout.sampleRate} Hz × ${layout.channels} ch`,
                { stage: 'play' },
              );
            }
            const frames = pcmFrames(chunk);
            if (frames === 0) return;
            wordsFor().given(chunk);
            const data = interleave(chunk, 's16le');
            if (temp) {
              await temp.handle.write(data, 0, data.byteLength, WAV_HEADER_BYTES + temp.bytes);
              temp.bytes += data.byteLength;
            } else {
              await feed(data);
              words?.taken(frames);
            }
            bytes += data.byteLength;
          },
          async close() {
            if (mode === 'file' && temp) await finishFile();
            if (!player) return;
            const p = player;
            p.child.stdin!.end();
            ctx.onAbort(() => void stopPlayer(p));
            const exit = await p.exited;
            if (ctx.signal.aborted) return;
            if (exit.error || exit.code !== 0) throw await failure(p);
            // The player has played everything it was given.
            finished = true;
            words?.finished();
          },
          async abort() {
            if (player) await stopPlayer(player);
          },
        },
        result: () => ({ player: path, bytes, ...layout, heard: heardNow() }),
      };
    },
  };
}

function startPlayer(path: string, args: string[], env: NodeJS.ProcessEnv): Player {
  const child = spawn(path, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
  const player: Player = { child, exited: undefined as unknown as Promise<Exit>, done: false, stdinBroken: false, stderr: '' };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    player.stderr = (player.stderr + text).slice(-2000);
  });
  child.stdin!.on('error', () => {
    player.stdinBroken = true; // EPIPE: the player closed its input; its exit says why
  });
  player.exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => {
      player.done = true;
      resolve({ code: null, signal: null, error });
    });
    child.once('close', (code, signal) => {
      player.done = true;
      resolve({ code, signal });
    });
  });
  return player;
}

/** Stops a player: SIGTERM, then SIGKILL if it has not gone within 2 s. */
async function stopPlayer(player: Player): Promise<void> {
  if (player.done) return;
  player.child.stdin?.destroy();
  player.child.kill('SIGTERM');
  const timer = setTimeout(() => player.child.kill('SIGKILL'), 2000);
  await player.exited;
  clearTimeout(timer);
}
