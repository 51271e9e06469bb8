/** What a `say` run put where: the figures printed however it ended. */
export interface Written {
  /** A file path, `stdout`, or `player`. */
  to: string;
  /** Audio bytes written (for a WAV, its data without the header), or fed to the player. */
  bytes: number;
  /** Duration of that audio, when it is known (not for MP3 passed through as it came). */
  audioMs?: number;
}

const count = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** "1.23 s (59,040 bytes) to hi.wav", "played 1.23 s" — the audio and where it went, for people. */
export function describeWritten(w: Written): string {
  if (w.to === 'player') return `played ${seconds(w.audioMs ?? 0)}`;
  const what = w.audioMs === undefined ? `${count(w.bytes)} bytes` : `${seconds(w.audioMs)} (${count(w.bytes)} bytes)`;
  return `wrote ${what} to ${w.to}`;
}

/** The line printed on stderr when the run was interrupted (Ctrl-C). */
export function interruptedLine(w: Written): string {
  if (w.bytes > 0) return `voxpipe: interrupted; ${describeWritten(w)}`;
  if (w.to === 'player' || w.to === 'stdout') return 'voxpipe: interrupted before any audio';
  return `voxpipe: interrupted before any audio; ${w.to} was not written`;
}

/** The line printed on stderr after a failure that left audio behind in a file, or undefined. */
export function keptLine(w: Written): string | undefined {
  if (w.bytes === 0 || w.to === 'player' || w.to === 'stdout') return undefined;
  return `voxpipe: kept what arrived before the failure: ${describeWritten(w)}`;
}
