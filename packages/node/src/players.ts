// Internal: the external players `play()` knows, and how to find one on PATH.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { VoxpipeError } from '@voxpipe/core';

/** How a player takes audio: raw s16le PCM or a streaming WAV on stdin, or a finished WAV file. */
export type PlayerInput = 'pcm' | 'wav' | 'file';

export interface PlayerRecipe {
  input: PlayerInput;
  /** Arguments for raw s16le PCM at `rate` Hz × `channels` on stdin (or, for `file`, before the file name). */
  args(rate: number, channels: number): string[];
}

/** In the order `play()` looks for them. */
export const PLAYER_ORDER = ['aplay', 'paplay', 'ffplay', 'play', 'afplay'] as const;

export const PLAYERS: Record<string, PlayerRecipe> = {
  aplay: { input: 'pcm', args: (r, c) => ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', `${r}`, '-c', `${c}`, '-'] },
  paplay: { input: 'pcm', args: (r, c) => ['--raw', '--format=s16le', `--rate=${r}`, `--channels=${c}`] },
  ffplay: { input: 'pcm', args: (r, c) => ['-nodisp', '-autoexit', '-loglevel', 'error', '-f', 's16le', '-ar', `${r}`, '-ac', `${c}`, '-i', '-'] },
  play: { input: 'pcm', args: (r, c) => ['-q', '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-r', `${r}`, '-c', `${c}`, '-'] },
  // afplay (macOS) cannot read a pipe: the audio goes to a temporary WAV that plays when the stream ends.
  afplay: { input: 'file', args: () => [] },
};

/** An unknown player gets a WAV on stdin and `-` as its file name (mpv, vlc, sox -d … read that). */
export const UNKNOWN_PLAYER: PlayerRecipe = { input: 'wav', args: () => ['-'] };

/** The player's recipe, by the base name of its command. */
export function recipeFor(command: string): PlayerRecipe {
  return PLAYERS[basename(command).replace(/\.exe$/i, '')] ?? UNKNOWN_PLAYER;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The full path of `command` (a name looked up on PATH, or a path), or undefined. */
export async function findOnPath(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (command.includes('/') || command.includes('\\')) {
    const path = isAbsolute(command) ? command : resolve(command);
    return (await isExecutable(path)) ? path : undefined;
  }
  const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const path = join(dir, command + ext);
      if (await isExecutable(path)) return path;
    }
  }
  return undefined;
}

/** What to do when there is nothing to play through, for the end of a `device` error's message. */
export const NO_DEVICE_ADVICE = 'or write the audio to a file instead (--out in the voxpipe command, wavFile() in code)';

/** What players print when they find no sound card or sound server (ALSA, sox, SDL/ffplay, PulseAudio). */
const NO_DEVICE_SAYINGS = [
  /audio open error/i,
  /cannot (find|get) card/i,
  /unknown pcm/i,
  /no default audio device/i,
  /audio open failed/i,
  /no available audio device/i,
  /could not (open|initialize) (audio|sdl)/i,
  /connection (failure|refused)/i,
];

/**
 * The line of a player's stderr that says it found no audio device to play
 * on, or undefined when it failed for another reason.
 */
export function noDeviceLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) if (NO_DEVICE_SAYINGS.some((s) => s.test(lines[i]))) return lines[i];
  return undefined;
}

/**
 * Which player to run: the `player` option, else VOXPIPE_PLAYER, else the
 * first of aplay, paplay, ffplay, play, afplay on PATH. No player is a
 * `device` error that says what to install or set.
 */
export async function choosePlayer(requested: string | undefined, env: NodeJS.ProcessEnv, stage: string): Promise<{ command: string; path: string }> {
  const wanted = requested ?? (env.VOXPIPE_PLAYER?.trim() || undefined);
  if (wanted) {
    const path = await findOnPath(wanted, env);
    if (!path) {
      const from = requested ? 'the player option' : 'VOXPIPE_PLAYER';
      throw new VoxpipeError('device', `Audio player "${wanted}" (from ${from}) was not found on PATH. Install it, name another player, ${NO_DEVICE_ADVICE}.`, { stage });
    }
    return { command: wanted, path };
  }
  for (const command of PLAYER_ORDER) {
    const path = await findOnPath(command, env);
    if (path) return { command, path };
  }
  throw new VoxpipeError(
    'device',
    `No audio player found on PATH (looked for ${PLAYER_ORDER.join(', ')}). Install one (alsa-utils for aplay, ffmpeg for ffplay, sox for play), name one with VOXPIPE_PLAYER, ${NO_DEVICE_ADVICE}.`,
    { stage },
  );
}
