import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, OggPacketReader } from '@voxpipe/codecs';
import { collect, fromBytes, pipeline, VoxpipeError, type PcmChunk } from '@voxpipe/core';
import * as kit from '@voxpipe/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPUS_PRE_SKIP, oggOpusEncode, opusPageByteAt } from './ogg-opus-encode.js';
import { hasTool } from '../../../test/support/tools.js';

const pcmFormat = { kind: 'pcm' as const, sampleRate: 24000, channels: 1 };

/** A voice-like test signal: two tones gliding, with a pause in the middle. */
function signal(frames: number, sampleRate = 24000): PcmChunk {
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const gate = i > frames * 0.45 && i < frames * 0.55 ? 0 : 1;
    out[i] = gate * (0.3 * Math.sin(2 * Math.PI * (180 + 60 * t) * t) + 0.15 * Math.sin(2 * Math.PI * 900 * t));
  }
  return { sampleRate, channels: [out] };
}

async function encode(parts: PcmChunk[], format = pcmFormat): Promise<Uint8Array> {
  return kit.joinBytes(await kit.runTransform(oggOpusEncode(), parts, format));
}

async function decodeOurs(bytes: Uint8Array): Promise<PcmChunk> {
  const { value } = await pipeline(fromBytes(bytes, { format: { kind: 'bytes', container: 'opus' } }), decode(), collect()).done;
  return value!.pcm!;
}

/** Normalized cross-correlation of `a` and `b` at lag 0. */
function correlation(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('oggOpusEncode', () => {
  it('decodes (with decode()) to the input: the same length, in line (pre-skip right), close in shape', async () => {
    const input = signal(24000 * 1.3);
    const bytes = await encode([input]);
    const out = await decodeOurs(bytes);
    expect(out.sampleRate).toBe(24000);
    expect(out.channels.length).toBe(1);
    expect(out.channels[0].length).toBe(input.channels[0].length); // the last granule trims the padding
    expect(correlation(out.channels[0], input.channels[0])).toBeGreaterThan(0.9);
    // The pre-skip puts the audio where it was: the best lag is within 3 samples (0.13 ms; libopus's
    // phase at 32 kbit/s shifts the peak by two), where a missing or doubled pre-skip is 156 off.
    let best = { lag: 0, c: -1 };
    for (let lag = -200; lag <= 200; lag++) {
      const c = lag >= 0 ? correlation(out.channels[0].subarray(lag), input.channels[0]) : correlation(out.channels[0], input.channels[0].subarray(-lag));
      if (c > best.c) best = { lag, c };
    }
    expect(Math.abs(best.lag)).toBeLessThanOrEqual(3);
  });

  it('writes headers, a first audio page of one packet, then pages of five, each with a right CRC, rising granules and the end flag last', async () => {
    const frames = 24000 * 0.7;
    const bytes = await encode([signal(frames)]);
    const reader = new OggPacketReader();
    const packets = reader.push(bytes);
    expect(reader.skipped).toBe(0);
    expect(reader.pending).toBe(0);
    expect(new TextDecoder().decode(packets[0].data.subarray(0, 8))).toBe('OpusHead');
    expect(packets[0].bos).toBe(true);
    expect(new DataView(packets[0].data.buffer, packets[0].data.byteOffset).getUint16(10, true)).toBe(OPUS_PRE_SKIP);
    expect(new DataView(packets[0].data.buffer, packets[0].data.byteOffset).getUint32(12, true)).toBe(24000);
    expect(new TextDecoder().decode(packets[1].data.subarray(0, 8))).toBe('OpusTags');
    const audio = packets.slice(2);
    for (const packet of audio) expect(packet.data.byteLength).toBe(80); // 32 kbit/s CBR, 20 ms
    const granules = audio.filter((p) => p.granule >= 0n).map((p) => Number(p.granule));
    for (let i = 1; i < granules.length; i++) expect(granules[i]).toBeGreaterThan(granules[i - 1]);
    expect(granules[0]).toBe(960); // the first audio page: one packet
    expect(granules[1] - granules[0]).toBe(5 * 960);
    expect(audio.at(-1)!.eos).toBe(true);
    expect(granules.at(-1)).toBe(OPUS_PRE_SKIP + frames * 2);
    // the page layout is known beforehand
    const starts: number[] = [];
    for (let at = 0; at < bytes.byteLength; ) {
      starts.push(at);
      const segments = bytes[at + 26];
      let body = 0;
      for (let i = 0; i < segments; i++) body += bytes[at + 27 + i];
      at += 27 + segments + body;
    }
    for (const sample of [0, 1, 323, 324, 325, 2000, 5000, frames - 1]) {
      const page = opusPageByteAt(sample, 24000, 32);
      expect(starts).toContain(page);
      const packet = Math.floor((sample + OPUS_PRE_SKIP / 2) / 480);
      const pageIndex = packet < 1 ? 2 : 3 + Math.floor((packet - 1) / 5);
      expect(page, `sample ${sample}`).toBe(starts[pageIndex]);
    }
  });

  it('property: the same bytes however the PCM is chunked', async () => {
    const input = signal(24000 * 0.35);
    const whole = await encode([input]);
    await fc.assert(
      fc.asyncProperty(kit.pcmPartitions(input), async (parts) => {
        expect(await encode(parts)).toEqual(whole);
      }),
      { numRuns: 15 },
    );
  });

  it('refuses what Opus cannot take with a format error, and gives nothing for no audio', async () => {
    expect(() => oggOpusEncode().gives({ kind: 'pcm', sampleRate: 44100 })).toThrow(/8, 12, 16, 24 or 48 kHz/);
    expect(() => oggOpusEncode().gives({ kind: 'pcm', channels: 3 })).toThrow(VoxpipeError);
    const { error } = await kit.failureOf(oggOpusEncode(), [signal(100, 44100)], { kind: 'pcm' });
    expect((error as VoxpipeError).code).toBe('format');
    expect(await encode([])).toEqual(new Uint8Array(0));
    expect(() => oggOpusEncode({ bitrate: 1 })).toThrow(/bitrate/);
  });

  it('property: an abort at any point settles every read and write, and leaves nothing behind', () =>
    kit.abortAtAnyPoint({ stage: () => oggOpusEncode(), chunk: () => signal(2400), format: pcmFormat }, 15));
});

const ffmpeg = hasTool('ffmpeg', 'Ogg Opus against ffmpeg');

describe.skipIf(!ffmpeg)('oggOpusEncode against ffmpeg (skipped where ffmpeg is missing)', () => {
  it('ffmpeg reads our stream without a complaint, to the same length (at 48 kHz) and the same audio', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voxpipe-opus-'));
    try {
      const input = signal(24000);
      writeFileSync(join(dir, 'x.opus'), await encode([input]));
      const raw = execFileSync('ffmpeg', ['-v', 'warning', '-xerror', '-c:a', 'libopus', '-i', join(dir, 'x.opus'), '-f', 'f32le', '-c:a', 'pcm_f32le', '-'], { maxBuffer: 1 << 26 });
      const theirs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      expect(theirs.length).toBe(48000);
      const decimated = Float32Array.from({ length: 24000 }, (_, i) => theirs[2 * i]);
      expect(correlation(decimated, input.channels[0])).toBeGreaterThan(0.85);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
