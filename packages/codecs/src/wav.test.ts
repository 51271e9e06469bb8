import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { anyPcm, collect, fromBytes, pipeline, VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { acceptedAfterReads, arbitraryPcm, bytePartitions, failureOf, joinBytes, pcmPartitions, runTransform, testContext } from '@voxpipe/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { join, sine } from './testing/fixtures.js';
import { patchWavSizes, wavEncode, wavHeader, WAV_HEADER_BYTES } from './wav-encode.js';
import * as abortKit from '@voxpipe/core/testing';

const wavBytes = { kind: 'bytes', container: 'wav' } as const;

/** PCM whose samples are exact 16-bit values, so s16 round trips are exact. */
const pcm16 = arbitraryPcm({ maxFrames: 400, maxChannels: 3 }).map((pcm) => ({
  ...pcm,
  channels: pcm.channels.map((c) => c.map((x) => Math.round(x * 32767) / 32768)),
}));

/** A WAV file built by hand: RIFF header, then the given chunks. */
function riff(chunks: Array<[string, Uint8Array]>, options: { magic?: string; riffSize?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [id, body] of chunks) {
    const head = new Uint8Array(8);
    for (let i = 0; i < 4; i++) head[i] = id.charCodeAt(i);
    new DataView(head.buffer).setUint32(4, id === 'data' && body.byteLength === 0 ? 0xffffffff : body.byteLength, true);
    parts.push(head, body);
    if (body.byteLength & 1) parts.push(new Uint8Array(1));
  }
  const body = join(parts);
  const head = new Uint8Array(12);
  const magic = options.magic ?? 'RIFF';
  for (let i = 0; i < 4; i++) head[i] = magic.charCodeAt(i);
  new DataView(head.buffer).setUint32(4, options.riffSize ?? body.byteLength + 4, true);
  for (let i = 0; i < 4; i++) head[8 + i] = 'WAVE'.charCodeAt(i);
  return join([head, body]);
}

function fmt(tag: number, channels: number, rate: number, bits: number, extensibleTag?: number): Uint8Array {
  const size = extensibleTag === undefined ? 16 : 40;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint16(0, extensibleTag === undefined ? tag : 0xfffe, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, (rate * channels * bits) / 8, true);
  v.setUint16(12, (channels * bits) / 8, true);
  v.setUint16(14, bits, true);
  if (extensibleTag !== undefined) {
    v.setUint16(16, 22, true);
    v.setUint16(18, bits, true);
    v.setUint32(20, channels === 2 ? 3 : 4, true);
    v.setUint16(24, extensibleTag, true);
    out.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return out;
}

async function decodeAll(parts: Uint8Array[], format = wavBytes as { kind: 'bytes'; container?: 'wav' }, ctx = testContext('decode')) {
  const { error, output: chunks } = await failureOf(decode(), parts, format, ctx);
  if (error) throw error;
  return { chunks, ctx, pcm: concat(chunks) };
}

function concat(chunks: PcmChunk[]): PcmChunk | undefined {
  if (chunks.length === 0) return undefined;
  const count = chunks[0].channels.length;
  const frames = chunks.reduce((n, c) => n + c.channels[0].length, 0);
  const channels = Array.from({ length: count }, () => new Float32Array(frames));
  let offset = 0;
  for (const chunk of chunks) {
    expect(chunk.channels.length).toBe(count);
    expect(chunk.sampleRate).toBe(chunks[0].sampleRate);
    chunk.channels.forEach((c, i) => channels[i].set(c, offset));
    offset += chunk.channels[0].length;
  }
  return { sampleRate: chunks[0].sampleRate, channels };
}

describe('wavEncode', () => {
  it('writes a streaming header then the samples, the same bytes whatever the PCM chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        pcm16.chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm), pcmPartitions(pcm))),
        fc.constantFrom('s16le' as const, 'f32le' as const),
        async ([pcm, a, b], encoding) => {
          const one = joinBytes(await runTransform(wavEncode({ encoding }), a, anyPcm));
          const two = joinBytes(await runTransform(wavEncode({ encoding }), b, anyPcm));
          expect(two).toEqual(one);
          const frames = pcm.channels[0].length;
          const width = encoding === 's16le' ? 2 : 4;
          if (frames === 0) {
            expect(one.byteLength).toBe(WAV_HEADER_BYTES); // empty file, true sizes
            expect(new DataView(one.buffer).getUint32(40, true)).toBe(0);
            return;
          }
          expect(one.byteLength).toBe(WAV_HEADER_BYTES + frames * pcm.channels.length * width);
          const view = new DataView(one.buffer, one.byteOffset);
          expect(view.getUint32(4, true)).toBe(0xffffffff);
          expect(view.getUint32(40, true)).toBe(0xffffffff);
          expect(view.getUint16(22, true)).toBe(pcm.channels.length);
          expect(view.getUint32(24, true)).toBe(pcm.sampleRate);
          // and decode reads it back exactly
          const back = (await decodeAll([one])).pcm!;
          expect(back.sampleRate).toBe(pcm.sampleRate);
          expect(back.channels).toEqual(pcm.channels);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('clips and rounds floats to 16 bits', async () => {
    const pcm: PcmChunk = { sampleRate: 8000, channels: [Float32Array.from([0, 1, -1, 2, -2, 0.5, Number.NaN, 1 / 65536])] };
    const bytes = joinBytes(await runTransform(wavEncode(), [pcm], anyPcm));
    const samples = new Int16Array(bytes.slice(WAV_HEADER_BYTES).buffer);
    expect([...samples]).toEqual([0, 32767, -32768, 32767, -32768, 16384, 0, 1]);
  });

  it('refuses a change of rate or channel count mid-stream with a format error', async () => {
    const { error: err } = await failureOf(wavEncode(), [sine({ frames: 10 }), sine({ frames: 10, sampleRate: 8000 })], anyPcm);
    expect(err).toBeInstanceOf(VoxpipeError);
    expect((err as VoxpipeError).code).toBe('format');
  });

  it('buffers little behind a stalled reader', async () => {
    const parts = Array.from({ length: 30 }, () => sine({ frames: 480 }));
    expect(await acceptedAfterReads(wavEncode(), parts, anyPcm)).toBeLessThanOrEqual(3);
  });

  it('wavHeader and patchWavSizes write true sizes', () => {
    const header = wavHeader({ sampleRate: 16000, channels: 2 });
    patchWavSizes(header, 6400);
    const view = new DataView(header.buffer);
    expect(view.getUint32(4, true)).toBe(36 + 6400);
    expect(view.getUint32(40, true)).toBe(6400);
    expect(view.getUint32(28, true)).toBe(64000);
    expect(new DataView(wavHeader({ sampleRate: 8000, channels: 1, dataBytes: 10 }).buffer).getUint32(40, true)).toBe(10);
    const big = patchWavSizes(wavHeader({ sampleRate: 8000, channels: 1 }), 2 ** 33);
    expect(new DataView(big.buffer).getUint32(40, true)).toBe(0xffffffff);
    expect(() => patchWavSizes(new Uint8Array(12), 1)).toThrow(/data chunk/);
  });

  it('round-trips through a spec', () => {
    expect(wavEncode({ encoding: 'f32le' }).spec).toEqual({ stage: 'wavEncode', options: { encoding: 'f32le', dataSize: 'streaming' } });
    expect(() => wavEncode({ encoding: 's8' as never })).toThrow(/wavEncode.*encoding/);
  });
});

describe('decode (WAV)', () => {
  const pcm = sine({ sampleRate: 22050, channels: 2, frames: 300 });
  const quantize = (x: number, bits: number) => Math.round(x * 2 ** (bits - 1)) / 2 ** (bits - 1);
  const body = (bits: number, float = false) => {
    const width = bits / 8;
    const out = new Uint8Array(300 * 2 * width);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 300; i++) {
      for (let c = 0; c < 2; c++) {
        const x = pcm.channels[c][i];
        const at = (i * 2 + c) * width;
        if (float && bits === 32) view.setFloat32(at, x, true);
        else if (float) view.setFloat64(at, x, true);
        else if (bits === 8) out[at] = Math.round(x * 128) + 128;
        else if (bits === 16) view.setInt16(at, Math.round(x * 32768), true);
        else if (bits === 24) {
          const v = Math.round(x * 2 ** 23);
          out[at] = v & 255;
          out[at + 1] = (v >> 8) & 255;
          out[at + 2] = (v >> 16) & 255;
        } else view.setInt32(at, Math.round(x * 2 ** 31), true);
      }
    }
    return out;
  };
  const cases: Array<[string, Uint8Array, (x: number) => number]> = [
    ['u8', riff([['fmt ', fmt(1, 2, 22050, 8)], ['data', body(8)]]), (x) => quantize(x, 8)],
    ['s16', riff([['fmt ', fmt(1, 2, 22050, 16)], ['data', body(16)]]), (x) => quantize(x, 16)],
    ['s24', riff([['fmt ', fmt(1, 2, 22050, 24)], ['data', body(24)]]), (x) => quantize(x, 24)],
    ['s32', riff([['fmt ', fmt(1, 2, 22050, 32)], ['data', body(32)]]), (x) => Math.fround(quantize(x, 32))],
    ['f32', riff([['fmt ', fmt(3, 2, 22050, 32)], ['data', body(32, true)]]), (x) => x],
    ['f64', riff([['fmt ', fmt(3, 2, 22050, 64)], ['data', body(64, true)]]), (x) => x],
    ['extensible s24', riff([['fmt ', fmt(1, 2, 22050, 24, 1)], ['data', body(24)]]), (x) => quantize(x, 24)],
    ['extensible f32', riff([['fmt ', fmt(3, 2, 22050, 32, 3)], ['data', body(32, true)]]), (x) => x],
    ['LIST, fact and an odd-sized chunk before data', riff([['LIST', new Uint8Array(27).fill(7)], ['fmt ', fmt(1, 2, 22050, 16)], ['fact', new Uint8Array(4)], ['junk', new Uint8Array(3)], ['data', body(16)]]), (x) => quantize(x, 16)],
    ['streaming data size 0xFFFFFFFF', riff([['fmt ', fmt(1, 2, 22050, 16)], ['data', new Uint8Array(0)]]), (x) => x],
    ['RF64', riff([['ds64', new Uint8Array(28)], ['fmt ', fmt(1, 2, 22050, 16)], ['data', body(16)]], { magic: 'RF64', riffSize: 0xffffffff }), (x) => quantize(x, 16)],
  ];
  // the streaming case: header says "to the end", audio follows
  cases[9][1] = join([cases[9][1], body(16)]);
  cases[9][2] = (x) => quantize(x, 16);

  it.each(cases)('reads %s, whatever the chunking', async (_name, file, expected) => {
    await fc.assert(
      fc.asyncProperty(bytePartitions(file), async (parts) => {
        const { pcm: out, ctx } = await decodeAll(parts, { kind: 'bytes' });
        expect(out!.sampleRate).toBe(22050);
        expect(out!.channels.length).toBe(2);
        expect(out!.channels[0].length).toBe(300);
        for (let c = 0; c < 2; c++) for (let i = 0; i < 300; i++) expect(out!.channels[c][i]).toBe(Math.fround(expected(pcm.channels[c][i])) + 0);
        expect(ctx.events.filter((e) => e.type === 'warning')).toEqual([]);
        expect(ctx.metrics.firstAudioMs).toBeDefined();
      }),
      { numRuns: 12 },
    );
  });

  it('ignores chunks after a sized data chunk', async () => {
    const file = join([riff([['fmt ', fmt(1, 2, 22050, 16)], ['data', body(16)], ['LIST', new Uint8Array(40).fill(1)]])]);
    const { pcm: out } = await decodeAll([file]);
    expect(out!.channels[0].length).toBe(300);
  });

  it('reads µ-law and A-law WAVs', async () => {
    for (const tag of [6, 7]) {
      const file = riff([['fmt ', fmt(tag, 1, 8000, 8)], ['data', Uint8Array.from({ length: 100 }, (_, i) => i)]]);
      const { pcm: out } = await decodeAll([file]);
      expect(out!.sampleRate).toBe(8000);
      expect(out!.channels[0].length).toBe(100);
    }
  });

  it('warns about a truncated data chunk and a dangling partial frame', async () => {
    const file = riff([['fmt ', fmt(1, 2, 22050, 16)], ['data', body(16)]]);
    const { pcm: out, ctx } = await decodeAll([file.slice(0, file.byteLength - 7)]);
    expect(out!.channels[0].length).toBe(298);
    const messages = ctx.events.filter((e) => e.type === 'warning').map((e) => (e.detail as { message: string }).message);
    expect(messages.some((m) => /truncated/.test(m))).toBe(true);
    expect(messages.some((m) => /trailing bytes/.test(m))).toBe(true);
  });

  it('turns a bad or cut header into a typed decode error', async () => {
    const bad: Array<[string, Uint8Array]> = [
      ['cut inside the header', riff([['fmt ', fmt(1, 2, 22050, 16)], ['data', body(16)]]).slice(0, 30)],
      ['data before fmt', riff([['data', body(16)], ['fmt ', fmt(1, 2, 22050, 16)]])],
      ['ADPCM', riff([['fmt ', fmt(2, 2, 22050, 4)], ['data', body(16)]])],
      ['zero channels', riff([['fmt ', fmt(1, 0, 22050, 16)], ['data', body(16)]])],
      ['huge fmt', riff([['fmt ', new Uint8Array(9000)], ['data', body(16)]])],
    ];
    for (const [name, file] of bad) {
      const err = await decodeAll([file]).catch((e) => e);
      expect(err, name).toBeInstanceOf(VoxpipeError);
      expect(err.code, name).toBe('decode');
      expect(err.stage, name).toBe('decode');
    }
  });

  it('never throws anything but a decode error on corrupt or truncated WAVs, and ends', async () => {
    const file = riff([['LIST', new Uint8Array(5)], ['fmt ', fmt(1, 2, 22050, 16)], ['data', body(16)]]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(file.byteLength - 1), fc.nat(255)), { maxLength: 8 }),
        fc.nat(file.byteLength),
        async (edits, cut) => {
          const bytes = file.slice(0, cut);
          for (const [at, value] of edits) if (at < bytes.byteLength) bytes[at] = value;
          try {
            await decodeAll([bytes], { kind: 'bytes' });
          } catch (error) {
            expect(error).toBeInstanceOf(VoxpipeError);
            expect((error as VoxpipeError).code).toBe('decode');
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('fails a pipeline run with the decode error', async () => {
    const run = pipeline(fromBytes(riff([['data', body(16)]]), { format: wavBytes }), decode(), collect());
    const err = await run.done.catch((e) => e);
    expect(err).toBeInstanceOf(VoxpipeError);
    expect(err.code).toBe('decode');
  });

  it('buffers little behind a stalled reader', async () => {
    const file = riff([['fmt ', fmt(1, 2, 22050, 16)], ['data', new Uint8Array(0)]]);
    const chunks = [file, ...Array.from({ length: 50 }, () => new Uint8Array(4000))];
    const ctx = testContext('decode');
    expect(await acceptedAfterReads(decode(), chunks, wavBytes, 0, ctx)).toBeLessThanOrEqual(3);
    expect(await acceptedAfterReads(decode(), chunks, wavBytes, 1)).toBeLessThanOrEqual(4);
    expect(ctx.pendingCleanups()).toBe(0);
  });
});

const tool = (name: string) => {
  try {
    execFileSync(name, [name === 'sox' ? '--version' : '-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

for (const name of ['ffmpeg', 'sox']) if (!tool(name)) console.warn(`WAV against ${name}: skipped, no ${name} on PATH (apt-get install ${name})`);
describe.skipIf(!tool('ffmpeg'))('WAV against ffmpeg (skipped where ffmpeg is missing)', () => {
  it('ffmpeg reads our streaming s16 and f32 WAVs to the same samples', async () => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'voxpipe-wav-'));
    try {
      const pcm = sine({ sampleRate: 16000, channels: 2, frames: 1600 });
      for (const encoding of ['s16le', 'f32le'] as const) {
        const file = joinBytes(await runTransform(wavEncode({ encoding }), [pcm], anyPcm));
        writeFileSync(joinPath(dir, 'in.wav'), file);
        execFileSync('ffmpeg', ['-v', 'error', '-i', joinPath(dir, 'in.wav'), '-f', 'f32le', '-c:a', 'pcm_f32le', joinPath(dir, 'out.raw')], { stdio: 'ignore' });
        const raw = readFileSync(joinPath(dir, 'out.raw'));
        const theirs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        expect(theirs.length).toBe(3200);
        for (let i = 0; i < 1600; i++) expect(theirs[i * 2 + 1]).toBeCloseTo(pcm.channels[1][i], 4);
        rmSync(joinPath(dir, 'out.raw'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('we read ffmpeg WAVs (s16, s24, s32, f32, u8, with a LIST chunk) to ffmpeg\'s own samples', async () => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'voxpipe-wav-'));
    try {
      const source = ['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=11025:duration=0.2', '-ac', '2', '-metadata', 'title=voxpipe'];
      for (const codec of ['pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_u8']) {
        const wav = joinPath(dir, `${codec}.wav`);
        const raw = joinPath(dir, `${codec}.raw`);
        execFileSync('ffmpeg', ['-v', 'error', ...source, '-c:a', codec, wav]);
        execFileSync('ffmpeg', ['-v', 'error', '-i', wav, '-f', 'f32le', '-c:a', 'pcm_f32le', raw]);
        const ref = readFileSync(raw);
        const theirs = new Float32Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.byteLength));
        const { pcm: ours } = await decodeAll([new Uint8Array(readFileSync(wav))], { kind: 'bytes' });
        expect(ours!.sampleRate, codec).toBe(11025);
        expect(ours!.channels[0].length * 2, codec).toBe(theirs.length);
        for (let i = 0; i < ours!.channels[0].length; i++) expect(ours!.channels[0][i], codec).toBeCloseTo(theirs[i * 2], 6);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!tool('sox'))('WAV against sox (skipped where sox is missing)', () => {
  it('sox accepts our streaming header and counts the samples', async () => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'voxpipe-wav-'));
    try {
      const file = joinBytes(await runTransform(wavEncode(), [sine({ sampleRate: 8000, frames: 800 })], anyPcm));
      writeFileSync(joinPath(dir, 'in.wav'), file);
      execFileSync('sox', ['-V1', joinPath(dir, 'in.wav'), '-t', 's16', joinPath(dir, 'out.raw')]);
      expect(readFileSync(joinPath(dir, 'out.raw')).byteLength).toBe(1600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('wavEncode: abort at any point', () => {
  const subject = { stage: () => wavEncode(), chunk: () => ({ sampleRate: 8000, channels: [new Float32Array(64).fill(0.5)] }), format: { kind: 'pcm' as const, sampleRate: 8000, channels: 1 } };
  it('property: an abort at any point settles every read and write, and leaves nothing behind', () => abortKit.abortAtAnyPoint(subject));
  it('property: a run aborted at any point ends aborted, and its source is asked for nothing more', () => abortKit.runAbortedAtAnyPull(subject));
});
