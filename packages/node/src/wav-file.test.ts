import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, concatPcm, pipeline, ReadableStream, tone, VoxpipeError, type PcmChunk, type SourceStage } from '@voxpipe/core';
import { arbitraryPcm, pcmPartitions, spokenWords } from '@voxpipe/core/testing';
import { openDescriptors, pcmSource, readWav, referenceS16, tempDir } from './test-support.js';
import { wavFile } from './wav-file.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (ext = 'wav') => join(dir, `out-${n++}.${ext}`);
/** Temporary files left beside the outputs (there should be none once runs end). */
const partials = async () => (await readdir(dir)).filter((name) => name.endsWith('.partial'));

async function toneFor(options: Parameters<typeof tone>[0]): Promise<PcmChunk> {
  return (await pipeline(tone(options), collect()).done).value!.pcm!;
}

/** The file's sizes agree with its length: RIFF = file − 8, data = file − header. */
function expectSized(info: ReturnType<typeof readWav>) {
  expect(info.riffSize).toBe(info.fileSize - 8);
  expect(info.dataOffset + info.dataSize).toBe(info.fileSize);
  expect(info.dataSize % info.blockAlign).toBe(0);
}

describe('wavFile', () => {
  it('writes a valid 16-bit WAV whose samples are the audio', async () => {
    const path = fresh();
    const { value } = await pipeline(tone({ ms: 250, frequency: 440, db: -3 }), wavFile(path)).done;
    const info = readWav(await readFile(path));
    expectSized(info);
    expect(info).toMatchObject({ formatTag: 1, channels: 1, sampleRate: 24000, bitsPerSample: 16, blockAlign: 2, byteRate: 48000, dataOffset: 44 });
    expect(info.dataSize).toBe(250 * 24 * 2);
    expect(info.data).toEqual(referenceS16(await toneFor({ ms: 250, frequency: 440, db: -3 })));
    expect(value).toMatchObject({ path, dataBytes: 12000, sampleRate: 24000, channels: 1, durationMs: 250 });
  });

  it('reports each word as written: once, in order, after the chunk holding its first sample, however the audio is chunked', async () => {
    const text = 'Words land in the file; each one is told as it is written.';
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9000 }), async (chunkFrames) => {
        const { chunks, words } = spokenWords(text, { chunkFrames, msPerChar: 10, gapMs: 5 });
        const seen: Array<{ word: string; atMs: number; chunksWritten: number }> = [];
        let given = 0;
        const source = pcmSource(chunks, () => given++);
        const run = pipeline(source, wavFile(fresh()));
        run.events.on('word', (e) => seen.push({ word: e.detail.text, atMs: e.detail.atMs, chunksWritten: given }));
        await run.done;
        expect(seen.map((w) => w.word)).toEqual(text.split(' '));
        seen.forEach((w, i) => {
          expect(w.atMs).toBeCloseTo((words[i].at * 1000) / 24000, 6);
          // Not before the chunk that holds its first sample was given to the sink.
          expect(w.chunksWritten).toBeGreaterThan(Math.floor(words[i].at / chunkFrames));
        });
      }),
      { numRuns: 15 },
    );
  });

  it('writes 32-bit float stereo exactly (options-object form)', async () => {
    const path = fresh();
    await pipeline(tone({ ms: 100, channels: 2, sampleRate: 16000 }), wavFile({ path, encoding: 'f32le' })).done;
    const info = readWav(await readFile(path));
    expectSized(info);
    expect(info).toMatchObject({ formatTag: 3, channels: 2, sampleRate: 16000, bitsPerSample: 32, blockAlign: 8 });
    const pcm = await toneFor({ ms: 100, channels: 2, sampleRate: 16000 });
    const floats = new Float32Array(info.data.slice().buffer);
    for (let i = 0; i < pcm.channels[0].length; i++) {
      expect(floats[2 * i]).toBe(pcm.channels[0][i]);
      expect(floats[2 * i + 1]).toBe(pcm.channels[1][i]);
    }
  });

  it('gives the same file for any split of the same audio, clipping out-of-range samples', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 600, maxChannels: 2 }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm), fc.double({ min: 0.5, max: 3, noNaN: true }))),
        async ([pcm, parts, boost]) => {
          const loud = (c: PcmChunk): PcmChunk => ({ sampleRate: c.sampleRate, channels: c.channels.map((x) => x.map((s) => s * boost)) });
          const path = fresh();
          await pipeline(pcmSource(parts.map(loud), undefined, { kind: 'pcm', sampleRate: pcm.sampleRate, channels: pcm.channels.length }), wavFile(path)).done;
          const info = readWav(await readFile(path));
          expectSized(info);
          expect(info.channels).toBe(pcm.channels.length);
          expect(info.sampleRate).toBe(pcm.sampleRate);
          expect(info.data).toEqual(referenceS16(loud(pcm)));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('leaves a valid, correctly sized file of what arrived when aborted mid-stream', async () => {
    const full = await toneFor({ ms: 2000, chunkMs: 20 });
    const chunks = concatPcm([full]).channels[0];
    const piece = (i: number): PcmChunk | undefined =>
      i * 480 < chunks.length ? { sampleRate: 24000, channels: [chunks.subarray(i * 480, (i + 1) * 480)] } : undefined;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60 }), async (abortAt) => {
        const path = fresh();
        // eslint-disable-next-line prefer-const
        let run: ReturnType<typeof pipeline<unknown>>;
        run = pipeline(pcmSource(piece, (i) => i === abortAt && run.abort('stop')), wavFile(path));
        const result = await run.done;
        expect(result.outcome).toBe('aborted');
        // Aborted before any audio reached the file: no file at all, never a bare header.
        if (abortAt === 0 && !existsSync(path)) return;
        const info = readWav(await readFile(path));
        expectSized(info);
        expect(info.sampleRate).toBe(24000);
        expect(info.dataSize).toBeLessThanOrEqual(abortAt * 960 + 960);
        expect(info.data).toEqual(referenceS16(full).subarray(0, info.dataSize));
        expect([0, undefined]).toContain(await openDescriptors(path));
      }),
      { numRuns: 15 },
    );
  });

  it('leaves a valid empty WAV when aborted before any audio', async () => {
    const path = fresh();
    const controller = new AbortController();
    controller.abort();
    const result = await pipeline({ signal: controller.signal }, tone({ ms: 100 }), wavFile(path)).done.catch((e) => e);
    // The run may end before the sink opens the file; if the file exists, it is valid.
    if ((await stat(path).catch(() => undefined)) !== undefined) expectSized(readWav(await readFile(path)));
    expect(result.outcome ?? result.code).toBe('aborted');
  });

  it('leaves no file when the run fails before any audio, and an earlier file untouched', async () => {
    const path = fresh();
    const failing: SourceStage<PcmChunk> = {
      role: 'source',
      name: 'failing',
      gives: { kind: 'pcm', sampleRate: 24000, channels: 1 },
      open: () => new ReadableStream<PcmChunk>({ pull: (c) => c.error(new VoxpipeError('auth', 'The server refused the API key')) }),
    };
    expect(await pipeline(failing, wavFile(path)).done.catch((e) => e.code)).toBe('auth');
    expect(existsSync(path)).toBe(false);
    await writeFile(path, 'earlier take');
    expect(await pipeline(failing, wavFile(path)).done.catch((e) => e.code)).toBe('auth');
    expect(await readFile(path, 'utf8')).toBe('earlier take');
    expect(await partials()).toEqual([]);
  });

  it('replaces an earlier file only when the run ends, and writes nothing else beside it', async () => {
    const path = fresh();
    await writeFile(path, 'earlier take');
    let seen = '';
    const source = pcmSource((i) => (i < 5 ? { sampleRate: 24000, channels: [new Float32Array(480).fill(0.1)] } : undefined), (i) => {
      if (i === 3) seen = readFileSync(path, 'utf8');
    });
    const { value } = await pipeline(source, wavFile(path)).done;
    expect(seen).toBe('earlier take');
    expect(value!.dataBytes).toBe(5 * 960);
    expectSized(readWav(await readFile(path)));
    expect(await partials()).toEqual([]);
  });

  it('writes the path itself as audio arrives with atomic: false', async () => {
    const path = fresh();
    let sizeMidway = 0;
    const source = pcmSource((i) => (i < 5 ? { sampleRate: 24000, channels: [new Float32Array(480)] } : undefined), (i) => {
      if (i === 3 && existsSync(path)) sizeMidway = statSync(path).size;
    });
    await pipeline(source, wavFile(path, { atomic: false })).done;
    expect(sizeMidway).toBeGreaterThan(44);
    expectSized(readWav(await readFile(path)));
  });

  it('puts the sizes right and keeps the file when the process exits mid-run', async () => {
    const path = fresh();
    const script = join(dir, `exit-${n++}.mts`);
    await writeFile(
      script,
      [
        `import { pipeline, tone } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'core', 'src', 'index.ts'))};`,
        `import { wavFile } from ${JSON.stringify(join(import.meta.dirname, 'wav-file.ts'))};`,
        `const run = pipeline(tone({ ms: 3_600_000, chunkMs: 20 }), wavFile(${JSON.stringify(path)}));`,
        // Exits once a few chunks have been written (a chunk is counted as it enters the sink, after the one before was written).
        `setInterval(() => run.metrics.audioMs > 100 && process.exit(130), 5);`,
        `await run.done;`,
      ].join('\n'),
    );
    const code = await new Promise<number | null>((resolve) => {
      execFile(join(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx'), [script], { cwd: import.meta.dirname, timeout: 60_000 }, (error) =>
        resolve(error ? ((error as { code?: number }).code ?? null) : 0),
      );
    });
    expect(code).toBe(130);
    const info = readWav(await readFile(path));
    expectSized(info);
    expect(info.dataSize).toBeGreaterThan(0);
    expect(await partials()).toEqual([]);
  });

  it('patches the sizes when the audio format changes mid-stream, and fails with a format error', async () => {
    const path = fresh();
    const a = { sampleRate: 24000, channels: [new Float32Array(100).fill(0.25)] };
    const b = { sampleRate: 16000, channels: [new Float32Array(100)] };
    const error = await pipeline(pcmSource([a, b]), wavFile(path)).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error.code).toBe('format');
    const info = readWav(await readFile(path));
    expectSized(info);
    expect(info.dataSize).toBe(200);
  });

  it('fails at once with a bad-request error naming an unwritable path', async () => {
    for (const path of [join(dir, 'missing-dir', 'x.wav'), dir]) {
      const error = await pipeline(tone({ ms: 100 }), wavFile(path)).done.catch((e) => e);
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error.code).toBe('bad-request');
      expect(error.stage).toBe('wavFile');
      expect(error.message).toContain(path);
    }
  });

  it('rejects bad options and round-trips its spec', () => {
    expect(() => wavFile({ path: '' })).toThrow(/wavFile.*path/);
    expect(() => wavFile('x.wav', { encoding: 'u8' as never })).toThrow(/wavFile.*encoding/);
    expect(wavFile('x.wav').spec).toEqual({ stage: 'wavFile', options: { path: 'x.wav', encoding: 's16le' } });
  });
});
