// `voxpipe say` and Opus: `--out x.opus` keeps the server's Ogg Opus as it came,
// `--format opus` with another output decodes it, a mismatch is a usage error.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../packages/codecs/src/index.js';
import { collect, fromBytes, pipeline } from '../packages/core/src/index.js';
import { CHILD_MS, limitFor } from './support/budgets.js';

const root = join(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'packages', 'cli', 'src', 'main.ts');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxpipe-cli-opus-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function voxpipe(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(tsx, [main, ...args], { cwd: dir, env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '' }, timeout: CHILD_MS }, (error, _stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
    child.stdin!.end('');
  });
}

describe('voxpipe say with Opus', () => {
  it(
    '--out x.opus writes the server\'s Ogg Opus, which decodes to speech; --format opus --out y.wav decodes it to a WAV',
    async () => {
      const opus = await voxpipe(['say', 'Opus from the command line.', '--out', join(dir, 'x.opus')]);
      expect(opus.code, opus.stderr).toBe(0);
      const bytes = new Uint8Array(await readFile(join(dir, 'x.opus')));
      expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('OggS');
      expect(new TextDecoder().decode(bytes.subarray(28, 36))).toBe('OpusHead');
      const { value } = await pipeline(fromBytes(bytes), decode(), collect()).done;
      expect(value!.pcm!.sampleRate).toBe(24000);
      expect(value!.pcm!.channels[0].length / 24000).toBeGreaterThan(0.5);

      const wav = await voxpipe(['say', 'Opus from the command line.', '--format', 'opus', '--out', join(dir, 'y.wav')]);
      expect(wav.code, wav.stderr).toBe(0);
      const decoded = (await pipeline(fromBytes(new Uint8Array(await readFile(join(dir, 'y.wav')))), decode(), collect()).done).value!.pcm!;
      expect(decoded.channels[0].length).toBe(value!.pcm!.channels[0].length);
    },
    limitFor(CHILD_MS, CHILD_MS),
  );

  it(
    'refuses --format mp3 with --out x.opus as a usage error (64)',
    async () => {
      const result = await voxpipe(['say', 'Hello.', '--format', 'mp3', '--out', join(dir, 'z.opus')]);
      expect(result.code).toBe(64);
      expect(result.stderr).toMatch(/--out \.opus takes the server's Opus/);
    },
    limitFor(CHILD_MS),
  );
});
