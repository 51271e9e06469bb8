import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, fromIterable, pipeline, tone, VoxpipeError, type PcmChunk, type RunEvent } from '@voxpipe/core';
import { spokenWords } from '@voxpipe/core/testing';
import { play } from './play.js';
import { readWav, referenceS16, script, tempDir, until } from './test-support.js';

const dir = await tempDir('voxpipe-play-test-');
afterAll(() => rm(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
const empty = join(dir, 'empty');
execFileSync('mkdir', ['-p', bin, empty]);
// Fake players: they record their arguments and every byte they read from stdin.
await script(bin, 'aplay', 'printf "%s\\n" "$@" > "$FAKE_OUT.args"; exec /bin/cat > "$FAKE_OUT"');
await script(bin, 'myplayer', 'printf "%s\\n" "$@" > "$FAKE_OUT.args"; exec /bin/cat > "$FAKE_OUT"');
await script(bin, 'afplay', 'printf "%s\\n" "$@" > "$FAKE_OUT.args"; /bin/cat "$1" > "$FAKE_OUT"');
await script(bin, 'failing', '/bin/cat > /dev/null; echo "no such device" >&2; exit 3');
await script(bin, 'quitter', 'echo "cannot open audio" >&2; exit 5');
await script(bin, 'nocard', 'echo "ALSA lib confmisc.c:165:(snd_config_get_card) Cannot get card index for 7" >&2; echo "aplay: main:831: audio open error: No such device" >&2; exit 1');
await script(bin, 'stuck', 'echo $$ > "$FAKE_OUT.pid"; exec /bin/sleep 30');

let n = 0;
const out = () => join(dir, `out-${n++}`);
const has = (command: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const audio = async (ms: number, channels = 1) => referenceS16((await pipeline(tone({ ms, channels }), collect()).done).value!.pcm!);

describe('play', () => {
  it('feeds the first player on PATH raw s16le PCM with the rate and channels', async () => {
    const FAKE_OUT = out();
    const run = pipeline(tone({ ms: 300 }), play({ env: { PATH: bin, FAKE_OUT } }));
    const { value } = await run.done;
    const fed = new Uint8Array(await readFile(FAKE_OUT));
    expect(fed.byteLength).toBe(300 * 24 * 2);
    expect(fed).toEqual(await audio(300));
    expect((await readFile(`${FAKE_OUT}.args`, 'utf8')).split('\n')).toEqual(
      expect.arrayContaining(['-f', 'S16_LE', '-r', '24000', '-c', '1']),
    );
    expect(value).toMatchObject({ player: join(bin, 'aplay'), bytes: 14400, sampleRate: 24000, channels: 1 });
    expect(run.metrics.playbackStartMs).toBeTypeOf('number');
  });

  it('puts extra args first, and takes a player from VOXPIPE_PLAYER (an unknown one gets a WAV on stdin)', async () => {
    const FAKE_OUT = out();
    await pipeline(tone({ ms: 200, channels: 2, sampleRate: 16000 }), play({ args: ['--fast'], env: { PATH: bin, FAKE_OUT, VOXPIPE_PLAYER: 'myplayer' } })).done;
    const info = readWav(new Uint8Array(await readFile(FAKE_OUT)));
    expect(info).toMatchObject({ channels: 2, sampleRate: 16000, bitsPerSample: 16 });
    expect(info.data).toEqual(referenceS16((await pipeline(tone({ ms: 200, channels: 2, sampleRate: 16000 }), collect()).done).value!.pcm!));
    expect(await readFile(`${FAKE_OUT}.args`, 'utf8')).toBe('--fast\n-\n');
  });

  it('gives afplay (which cannot read a pipe) a finished WAV file', async () => {
    const FAKE_OUT = out();
    await pipeline(tone({ ms: 150 }), play({ player: 'afplay', env: { PATH: bin, FAKE_OUT } })).done;
    const info = readWav(new Uint8Array(await readFile(FAKE_OUT)));
    expect(info.riffSize).toBe(info.fileSize - 8);
    expect(info.data).toEqual(await audio(150));
  });

  it('fails with a device error that says what to do when no player is found', async () => {
    const error = await pipeline(tone({ ms: 100 }), play({ env: { PATH: empty } })).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'device', stage: 'play' });
    expect(error.message).toMatch(/No audio player found.*aplay.*Install one.*write the audio to a file/);
    const named = await pipeline(tone({ ms: 100 }), play({ player: 'nope', env: { PATH: bin } })).done.catch((e) => e);
    expect(named).toMatchObject({ code: 'device' });
    expect(named.message).toMatch(/"nope".*not found/);
  });

  it('fails with a device error naming what the player said when it finds no sound card', async () => {
    const error = await pipeline(tone({ ms: 3000 }), play({ player: 'nocard', env: { PATH: bin } })).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'device', stage: 'play' });
    expect(error.message).toMatch(/^No audio output device: "nocard" could not open one \(aplay: main:831: audio open error: No such device\)\. .*sound card.*write the audio to a file/);
  });

  it.runIf(has('aplay'))('fails with a device error when real aplay is pointed at a missing sound card', async () => {
    const home = join(dir, 'missing-card');
    execFileSync('mkdir', ['-p', home]);
    await writeFile(join(home, '.asoundrc'), 'pcm.!default { type hw card "voxpipe_missing" }\n');
    const error = await pipeline(tone({ ms: 500 }), play({ player: 'aplay', env: { HOME: home } })).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error.code).toBe('device');
    expect(error.message).toMatch(/No audio output device: "aplay" could not open one \(.*audio open error/);
  });

  it('fails with the exit code and the last words of a player that exits non-zero', async () => {
    for (const [player, pattern] of [
      ['failing', /code 3: no such device/],
      ['quitter', /code 5: cannot open audio/],
    ] as const) {
      const error = await pipeline(tone({ ms: 3000 }), play({ player, env: { PATH: bin } })).done.catch((e) => e);
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error.code).toBe('bad-request');
      expect(error.message).toMatch(pattern);
    }
  });

  it('holds audio back while the player does not read, and kills it on abort', async () => {
    const FAKE_OUT = out();
    const run = pipeline(tone({ ms: 20_000 }), play({ player: 'stuck', env: { PATH: bin, FAKE_OUT } }));
    await until(() => existsSync(`${FAKE_OUT}.pid`) && run.metrics.playbackStartMs !== undefined);
    await until(async () => {
      const before = run.metrics.audioMs;
      await new Promise((r) => setTimeout(r, 30));
      return run.metrics.audioMs === before;
    });
    // A pipe (64 KiB) and Node's stdin buffer (16 KiB) hold < 2 s of 24 kHz s16 audio — not 20 s.
    expect(run.metrics.audioMs).toBeLessThan(3000);
    const pid = Number(await readFile(`${FAKE_OUT}.pid`, 'utf8'));
    expect(() => process.kill(pid, 0)).not.toThrow();
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it.runIf(has('sox'))('plays through a real external process (sox writing to /dev/null)', async () => {
    const args = ['-q', '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-r', '{rate}', '-c', '{channels}', '-', '-t', 's16', '/dev/null'];
    const { value } = await pipeline(tone({ ms: 200 }), play({ player: 'sox', args, replaceArgs: true })).done;
    expect(value!.bytes).toBe(9600);
    const error = await pipeline(tone({ ms: 200 }), play({ player: 'sox', args: ['-t', 'bogus', '-', '-n'], replaceArgs: true })).done.catch((e) => e);
    expect(error.message).toMatch(/"sox" exited with code \d+: .*bogus/);
  });

  it.runIf(has('aplay'))('plays through real aplay on the null device', async () => {
    const { value } = await pipeline(tone({ ms: 200 }), play({ player: 'aplay', args: ['-D', 'null'] })).done;
    expect(value!.bytes).toBe(9600);
  });

  it.runIf(has('ffplay'))('plays through real ffplay with SDL’s dummy audio driver', async () => {
    const { value } = await pipeline(tone({ ms: 200 }), play({ player: 'ffplay', env: { SDL_AUDIODRIVER: 'dummy' } })).done;
    expect(value!.bytes).toBe(9600);
  });

  describe.runIf(has('aplay'))('word events and heard text (real aplay on the null device)', () => {
    const TEXT = 'One two three, four five six. Seven eight!';
    const format = { kind: 'pcm', sampleRate: 24000, channels: 1 } as const;
    /** The words' audio at the pace of a live stream (100 ms chunks every 100 ms), held open `holdMs` after the last. */
    async function* live(holdMs: number): AsyncGenerator<PcmChunk> {
      for (const chunk of spokenWords(TEXT, { msPerChar: 25, chunkFrames: 2400 }).chunks) {
        yield chunk;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, holdMs));
    }

    it('fires each word once, in order, no sooner than the player (consumed less its buffer) could have played it', async () => {
      const { words } = spokenWords(TEXT, { msPerChar: 25, chunkFrames: 2400 });
      const sink = play({ player: 'aplay', args: ['-D', 'null'], bufferMs: 200 });
      const run = pipeline(fromIterable(live(600), { format }), sink);
      const fired: Array<RunEvent<'word'>> = [];
      run.events.on('word', (e) => fired.push(e));
      const { value } = await run.done;
      expect(fired.map((e) => e.detail.text)).toEqual(TEXT.split(' '));
      expect(fired.map((e) => e.detail.index)).toEqual(words.map((_, i) => i));
      const start = run.metrics.playbackStartMs!;
      fired.forEach((e, i) => {
        expect(e.detail.atMs).toBeCloseTo((words[i].at * 1000) / 24000, 6);
        expect(TEXT.slice(e.detail.charStart, e.detail.charEnd)).toBe(e.detail.text);
        // Its first sample was fed after playback began and is heard a buffer later.
        expect(e.t).toBeGreaterThanOrEqual(start + e.detail.atMs + 200 - 1);
      });
      expect(value!.heard).toMatchObject({ text: TEXT, words: words.length, charEnd: TEXT.length });
    });

    it('stop() at a random moment ends the run and reports heard text that is a prefix of the input ending at a word', async () => {
      const ends = new Set([0, ...[...TEXT.matchAll(/\S+/g)].map((m) => m.index + m[0].length)]);
      for (let k = 0; k < 3; k++) {
        const afterMs = 200 + Math.random() * 1000;
        const sink = play({ player: 'aplay', args: ['-D', 'null'], bufferMs: 100 });
        const run = pipeline(fromIterable(live(2000), { format }), sink);
        const fired: Array<RunEvent<'word'>> = [];
        run.events.on('word', (e) => fired.push(e));
        await new Promise((r) => setTimeout(r, afterMs));
        const heard = await run.control(sink)!.stop();
        const why = `stopped after ${afterMs.toFixed(0)} ms: ${JSON.stringify(heard)}`;
        expect((await run.done).outcome, why).toBe('aborted');
        expect(TEXT.startsWith(heard.text), why).toBe(true);
        expect(ends.has(heard.charEnd), why).toBe(true);
        expect(heard.text, why).toBe(TEXT.slice(0, heard.charEnd));
        // The heard words are the first ones whose events fired and that ended by the played position.
        expect(heard.words, why).toBeLessThanOrEqual(fired.length);
        expect(heard.words, why).toBe(fired.filter((e) => e.detail.atMs + e.detail.durationMs <= heard.ms + 1e-6).length);
        expect(heard.text.split(' ').filter(Boolean), why).toEqual(fired.slice(0, heard.words).map((e) => e.detail.text));
      }
    });
  });

  it('rejects bad options and writes its spec', () => {
    expect(() => play({ args: 'x' as never })).toThrow(/play.*args/);
    expect(play({ player: 'aplay' }).spec).toEqual({ stage: 'play', options: { player: 'aplay', args: [], replaceArgs: false } });
  });
});
