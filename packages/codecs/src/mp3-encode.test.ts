import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { anyPcm, collect, pipeline, tone, VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { acceptedAfterReads, arbitraryPcm, failureOf, joinBytes, pcmPartitions, runTransform, testContext } from '@voxpipe/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { readMpegHeader } from './mpeg-header.js';
import { mp3Encode } from './mp3-encode.js';
import { sine } from './testing/fixtures.js';
import { hasTool } from '../../../test/support/tools.js';

async function encode(parts: PcmChunk[], options = {}): Promise<Uint8Array> {
  return joinBytes(await runTransform(mp3Encode(options), parts, anyPcm));
}

describe('mp3Encode', () => {
  it('gives the same bytes however the PCM is chunked (single samples included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 3000, maxChannels: 2, sampleRates: [16000, 24000, 44100] }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fc.constantFrom({}, { bitrate: 64 as const }, { vbrQuality: 2 }),
        async ([pcm, parts], options) => {
          expect(await encode(parts, options)).toEqual(await encode([pcm], options));
        },
      ),
      { numRuns: 15 },
    );
  });

  it('gives MP3 frames at the input rate and channel count, that decode back to the same sound', async () => {
    for (const [sampleRate, channels] of [
      [24000, 1],
      [44100, 2],
      [8000, 1],
    ]) {
      const source = sine({ sampleRate, channels, frames: sampleRate / 2 });
      const bytes = await encode([source], { bitrate: 64 });
      const header = readMpegHeader(bytes)!;
      expect(header.sampleRate).toBe(sampleRate);
      expect(header.channels).toBe(channels);
      const decoded = (await runTransform(decode(), [bytes], { kind: 'bytes' })).flatMap((c) => [...c.channels[0]]);
      expect(decoded.length).toBeGreaterThanOrEqual(sampleRate / 2);
      // the level survives (the sine is 0.5 peak: RMS 0.354)
      const body = decoded.slice(2000, sampleRate / 2);
      const rms = Math.sqrt(body.reduce((n, x) => n + x * x, 0) / body.length);
      expect(rms).toBeGreaterThan(0.3);
      expect(rms).toBeLessThan(0.4);
    }
  });

  it('sends bytes while the input is still coming, not only at the end', async () => {
    const parts = Array.from({ length: 20 }, (_, i) => ({ sampleRate: 24000, channels: [sine({ frames: 2400 }).channels[0].map((x) => x * (i % 2 ? 1 : 0.5))] }));
    const out = await runTransform(mp3Encode({ bitrate: 32 }), parts, anyPcm);
    expect(out.length).toBeGreaterThan(10);
  });

  it('gives nothing for no input, and works in a pipeline', async () => {
    expect(await encode([])).toEqual(new Uint8Array(0));
    const { value } = await pipeline(tone({ ms: 200 }), mp3Encode(), collect({ kind: 'bytes' })).done;
    expect(readMpegHeader(value!.bytes!)?.sampleRate).toBe(24000);
  });

  it('declares its output format, and refuses more than two channels when assembling and when running', async () => {
    expect(mp3Encode().gives({ kind: 'pcm', sampleRate: 24000, channels: 1 })).toEqual({ kind: 'bytes', container: 'mp3', sampleRate: 24000, channels: 1 });
    expect(mp3Encode().gives({ kind: 'pcm', sampleRate: 96000 }).sampleRate).toBeUndefined(); // LAME picks the rate
    expect(() => mp3Encode().gives({ kind: 'pcm', channels: 6 })).toThrow(VoxpipeError);
    const { error } = await failureOf(mp3Encode(), [sine({ channels: 3, frames: 100 })], anyPcm);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('format');
    const changed = await failureOf(mp3Encode(), [sine({ frames: 100 }), sine({ frames: 100, sampleRate: 16000 })], anyPcm);
    expect((changed.error as VoxpipeError).code).toBe('format');
  });

  it('holds little behind a stalled reader, and ends cleanly when aborted mid-stream', async () => {
    const parts = Array.from({ length: 40 }, () => sine({ frames: 4800 }));
    const ctx = testContext('mp3Encode');
    expect(await acceptedAfterReads(mp3Encode(), parts, anyPcm, 0, ctx)).toBeLessThanOrEqual(4);
    expect(ctx.pendingCleanups()).toBe(0);
    const run = pipeline(tone({ ms: 5000, chunkMs: 20 }), mp3Encode(), collect({ kind: 'bytes' }));
    run.events.on('first-audio', () => run.abort());
    expect((await run.done).outcome).toBe('aborted');
  });

  it('checks its options and writes them back as a spec', () => {
    expect(mp3Encode({ bitrate: 128 }).spec).toEqual({ stage: 'mp3Encode', options: { bitrate: 128 } });
    expect(() => mp3Encode({ bitrate: 100 as never })).toThrow(/mp3Encode.*bitrate/);
    expect(() => mp3Encode({ vbrQuality: 10 })).toThrow(/vbrQuality/);
    expect(() => mp3Encode({ bitrate: 64, vbrQuality: 2 } as never)).toThrow(/not both/);
  });
});

const ffmpeg = hasTool('ffmpeg', 'mp3Encode against ffmpeg');
describe.skipIf(!ffmpeg)('mp3Encode against ffmpeg (skipped where ffmpeg is missing)', () => {
  it('ffmpeg decodes our MP3 without errors, at our rate and channel count, to about our duration', async () => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'voxpipe-mp3e-'));
    try {
      const bytes = await encode([sine({ sampleRate: 22050, channels: 2, frames: 22050 })], { vbrQuality: 3 });
      writeFileSync(joinPath(dir, 'in.mp3'), bytes);
      execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', joinPath(dir, 'in.mp3'), '-f', 's16le', '-ac', '2', joinPath(dir, 'out.raw')]);
      const frames = readFileSync(joinPath(dir, 'out.raw')).byteLength / 4;
      expect(frames).toBeGreaterThanOrEqual(22050 - 1152);
      expect(frames).toBeLessThanOrEqual(22050 + 3 * 1152);
      const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=sample_rate,channels', '-of', 'csv=p=0', joinPath(dir, 'in.mp3')]).toString().trim();
      expect(probe).toBe('22050,2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
