import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anyPcm, type PcmChunk } from '@voxpipe/core';
import { acceptedAfterReads, bytePartitions, joinBytes, pcmPartitions, runTransform, testContext } from '@voxpipe/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from './g711.js';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from './g711-stages.js';
import * as abortKit from '@voxpipe/core/testing';
import { hasTool } from '../../../test/support/tools.js';

// ---- The oracle: Sun Microsystems' g711.c (the ITU-T G.711 reference behaviour), transcribed line by line. ----
const SIGN_BIT = 0x80;
const QUANT_MASK = 0xf;
const SEG_SHIFT = 4;
const SEG_MASK = 0x70;
const BIAS = 0x84;
const CLIP = 8159;
const seg_aend = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
const seg_uend = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
function search(val: number, table: number[], size: number): number {
  for (let i = 0; i < size; i++) if (val <= table[i]) return i;
  return size;
}
function sunLinear2alaw(pcm_val: number): number {
  let mask: number;
  pcm_val = pcm_val >> 3;
  if (pcm_val >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm_val = -pcm_val - 1;
  }
  const seg = search(pcm_val, seg_aend, 8);
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << SEG_SHIFT;
  if (seg < 2) aval |= (pcm_val >> 1) & QUANT_MASK;
  else aval |= (pcm_val >> seg) & QUANT_MASK;
  return (aval ^ mask) & 0xff;
}
function sunAlaw2linear(a_val: number): number {
  a_val ^= 0x55;
  let t = (a_val & QUANT_MASK) << 4;
  const seg = (a_val & SEG_MASK) >> SEG_SHIFT;
  switch (seg) {
    case 0:
      t += 8;
      break;
    case 1:
      t += 0x108;
      break;
    default:
      t += 0x108;
      t <<= seg - 1;
  }
  return a_val & SIGN_BIT ? t : -t;
}
function sunLinear2ulaw(pcm_val: number): number {
  let mask: number;
  pcm_val = pcm_val >> 2;
  if (pcm_val < 0) {
    pcm_val = -pcm_val;
    mask = 0x7f;
  } else mask = 0xff;
  if (pcm_val > CLIP) pcm_val = CLIP;
  pcm_val += BIAS >> 2;
  const seg = search(pcm_val, seg_uend, 8);
  if (seg >= 8) return (0x7f ^ mask) & 0xff;
  const uval = (seg << 4) | ((pcm_val >> (seg + 1)) & 0xf);
  return (uval ^ mask) & 0xff;
}
function sunUlaw2linear(u_val: number): number {
  u_val = ~u_val & 0xff;
  let t = ((u_val & QUANT_MASK) << 3) + BIAS;
  t <<= (u_val & SEG_MASK) >> SEG_SHIFT;
  return u_val & SIGN_BIT ? BIAS - t : t - BIAS;
}
// ---------------------------------------------------------------------------------------------------------

function mismatches(f: (x: number) => number, oracle: (x: number) => number, from: number, to: number): number[] {
  const bad: number[] = [];
  for (let x = from; x <= to; x++) if (f(x) !== oracle(x)) bad.push(x);
  return bad;
}

describe('G.711 functions', () => {
  it('µ-law encoding equals the reference for all 65536 16-bit samples', () => {
    expect(mismatches(linearToMulaw, sunLinear2ulaw, -32768, 32767)).toEqual([]);
  });
  it('A-law encoding equals the reference for all 65536 16-bit samples', () => {
    expect(mismatches(linearToAlaw, sunLinear2alaw, -32768, 32767)).toEqual([]);
  });
  it('µ-law and A-law decoding equal the reference for all 256 codes', () => {
    expect(mismatches(mulawToLinear, sunUlaw2linear, 0, 255)).toEqual([]);
    expect(mismatches(alawToLinear, sunAlaw2linear, 0, 255)).toEqual([]);
  });
  it('decode then encode gives the code back (except µ-law negative zero, 0x7f, which is +0)', () => {
    for (let code = 0; code < 256; code++) {
      expect(linearToAlaw(alawToLinear(code))).toBe(code);
      expect(linearToMulaw(mulawToLinear(code))).toBe(code === 0x7f ? 0xff : code);
    }
  });
  it('matches well-known values', () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(mulawToLinear(0x00)).toBe(-32124);
    expect(mulawToLinear(0x80)).toBe(32124);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
  });
});

/** PCM exactly on 16-bit steps, so float → int16 is exact. */
const pcm16 = fc
  .record({ channels: fc.integer({ min: 1, max: 2 }), values: fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 600 }) })
  .map(({ channels, values }): PcmChunk => {
    const frames = Math.floor(values.length / channels);
    return {
      sampleRate: 8000,
      channels: Array.from({ length: channels }, (_, c) => Float32Array.from({ length: frames }, (_, i) => values[i * channels + c] / 32768)),
    };
  });

describe.each([
  ['mulaw', mulawEncode, mulawDecode, linearToMulaw, mulawToLinear],
  ['alaw', alawEncode, alawDecode, linearToAlaw, alawToLinear],
] as const)('%s stages', (law, encode, decodeStage, toCode, toLinear) => {
  it('encode gives one code per sample, interleaved, whatever the PCM chunking', async () => {
    await fc.assert(
      fc.asyncProperty(pcm16.chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))), async ([pcm, parts]) => {
        const out = joinBytes(await runTransform(encode(), parts, anyPcm));
        const frames = pcm.channels[0].length;
        const count = pcm.channels.length;
        expect(out.byteLength).toBe(frames * count);
        for (let i = 0; i < frames; i++) {
          for (let c = 0; c < count; c++) expect(out[i * count + c]).toBe(toCode(Math.round(pcm.channels[c][i] * 32768)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('decode is split-invariant and exact (1-byte and odd splits included)', async () => {
    const codes = Uint8Array.from({ length: 512 }, (_, i) => (i * 37) & 255);
    await fc.assert(
      fc.asyncProperty(bytePartitions(codes), fc.integer({ min: 1, max: 3 }), async (parts, channels) => {
        const ctx = testContext(`${law}Decode`);
        const chunks = await runTransform(decodeStage({ channels }), parts, { kind: 'bytes', container: law }, ctx);
        const frames = Math.floor(512 / channels);
        expect(chunks.reduce((n, c) => n + c.channels[0].length, 0)).toBe(frames);
        let i = 0;
        for (const chunk of chunks) {
          expect(chunk.sampleRate).toBe(8000);
          for (let k = 0; k < chunk.channels[0].length; k++, i++) {
            for (let c = 0; c < channels; c++) expect(chunk.channels[c][k]).toBe(toLinear(codes[i * channels + c]) / 32768);
          }
        }
        const dropped = 512 - frames * channels;
        expect(ctx.events.some((e) => e.type === 'warning')).toBe(dropped > 0);
      }),
      { numRuns: 30 },
    );
  });

  it('encode then decode is the companding of the input', async () => {
    const pcm: PcmChunk = { sampleRate: 8000, channels: [Float32Array.from({ length: 800 }, (_, i) => 0.8 * Math.sin(i / 5))] };
    const bytes = joinBytes(await runTransform(encode(), [pcm], anyPcm));
    const back = (await runTransform(decodeStage(), [bytes], { kind: 'bytes', container: law }))[0];
    for (let i = 0; i < 800; i++) {
      expect(Math.abs(back.channels[0][i] - pcm.channels[0][i])).toBeLessThan(0.02); // 8-bit log: coarse near full scale
    }
  });

  it('buffers little behind a stalled reader', async () => {
    const pcm = Array.from({ length: 30 }, () => ({ sampleRate: 8000, channels: [new Float32Array(160)] }));
    expect(await acceptedAfterReads(encode(), pcm, anyPcm)).toBeLessThanOrEqual(3);
    const bytes = Array.from({ length: 30 }, () => new Uint8Array(160));
    expect(await acceptedAfterReads(decodeStage(), bytes, { kind: 'bytes', container: law })).toBeLessThanOrEqual(3);
  });

  it('declares its formats and rejects unknown options', () => {
    expect(encode().gives({ kind: 'pcm', sampleRate: 8000, channels: 1 })).toEqual({ kind: 'bytes', container: law, sampleRate: 8000, channels: 1 });
    expect(decodeStage({ sampleRate: 16000 }).gives({ kind: 'bytes' })).toEqual({ kind: 'pcm', sampleRate: 16000, channels: 1 });
    expect(() => decodeStage({ sampleRate: -1 })).toThrow(/sampleRate/);
    expect(() => encode({ rate: 1 } as never)).toThrow(/rate/);
  });
});

const ffmpeg = hasTool('ffmpeg', 'G.711 against ffmpeg');
describe.skipIf(!ffmpeg)('G.711 against ffmpeg (skipped where ffmpeg is missing)', () => {
  it.each(['mulaw', 'alaw'] as const)('%s: ffmpeg decodes all 256 codes to the same samples, and encodes to the same or the adjacent code', (law) => {
    const dir = mkdtempSync(join(tmpdir(), 'voxpipe-g711-'));
    try {
      const toCode = law === 'mulaw' ? linearToMulaw : linearToAlaw;
      const toLinear = law === 'mulaw' ? mulawToLinear : alawToLinear;
      writeFileSync(join(dir, 'codes.raw'), Uint8Array.from({ length: 256 }, (_, i) => i));
      execFileSync('ffmpeg', ['-v', 'error', '-f', law, '-ar', '8000', '-ac', '1', '-i', join(dir, 'codes.raw'), '-f', 's16le', join(dir, 'decoded.raw')]);
      const decoded = readFileSync(join(dir, 'decoded.raw'));
      for (let code = 0; code < 256; code++) expect(decoded.readInt16LE(code * 2)).toBe(toLinear(code));

      // ffmpeg's encoder rounds to the nearest level where G.711 (and Sun's g711.c) truncates,
      // so codes may differ by one step near decision levels; never by more.
      const samples = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
      writeFileSync(join(dir, 'in.raw'), new Uint8Array(samples.buffer));
      execFileSync('ffmpeg', ['-v', 'error', '-f', 's16le', '-ar', '8000', '-ac', '1', '-i', join(dir, 'in.raw'), '-f', law, join(dir, 'out.raw')]);
      const theirs = readFileSync(join(dir, 'out.raw'));
      expect(theirs.byteLength).toBe(65536);
      const levels = [...new Set(Array.from({ length: 256 }, (_, c) => toLinear(c)))].sort((a, b) => a - b);
      const level = (code: number) => levels.indexOf(toLinear(code));
      let same = 0;
      for (let i = 0; i < 65536; i++) {
        const ours = toCode(samples[i]);
        if (theirs[i] === ours) same++;
        else expect(Math.abs(level(theirs[i]) - level(ours))).toBe(1);
      }
      expect(same / 65536).toBeGreaterThan(0.98);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mulawEncode: abort at any point', () => {
  const subject = { stage: () => mulawEncode(), chunk: () => ({ sampleRate: 8000, channels: [new Float32Array(64).fill(0.5)] }), format: { kind: 'pcm' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});

describe('alawDecode: abort at any point', () => {
  const subject = { stage: () => alawDecode(), chunk: () => new Uint8Array(63).fill(0x55), format: { kind: 'bytes' as const, container: 'alaw' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
