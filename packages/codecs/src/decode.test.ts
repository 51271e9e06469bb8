import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { collect, coreStages, fromBytes, pipeline, VoxpipeError, type Format, type PcmChunk } from '@voxpipe/core';
import { acceptedAfterReads, bytePartitions, failureOf, settleTurns, testContext, type TestContext } from '@voxpipe/core/testing';
import fc from 'fast-check';
import { MPEGDecoder } from 'mpg123-decoder';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decode } from './decode.js';
import { liveMp3Decoders } from './mp3-decoder.js';
import { codecStages } from './registry.js';
import { sniffContainer } from './sniff.js';
import { encodeMp3, encodeWav, join, sine } from './testing/fixtures.js';

const anyBytes: Format = { kind: 'bytes' };
const mp3Format: Format = { kind: 'bytes', container: 'mp3' };

let monoMp3: Uint8Array; // 0.3 s, 24 kHz mono, 48 kbit/s CBR
let stereoMp3: Uint8Array; // 0.2 s, 44.1 kHz stereo (440 Hz left, 880 Hz right), VBR
let monoSource: PcmChunk;

beforeAll(async () => {
  monoSource = sine({ sampleRate: 24000, frames: 7200 });
  monoMp3 = await encodeMp3(monoSource, { bitrate: 48 });
  stereoMp3 = await encodeMp3(sine({ sampleRate: 44100, channels: 2, frames: 8820 }));
});

afterEach(() => {
  expect(liveMp3Decoders()).toBe(0); // every test frees its decoders
});

async function decodeParts(parts: Uint8Array[], format: Format = anyBytes, stage = decode(), ctx: TestContext = testContext('decode')) {
  const { error, output } = await failureOf(stage, parts, format, ctx);
  return { error, chunks: output, pcm: output.length ? concat(output) : undefined, ctx };
}

function concat(chunks: PcmChunk[]): PcmChunk {
  const count = chunks[0].channels.length;
  const frames = chunks.reduce((n, c) => n + c.channels[0].length, 0);
  const channels = Array.from({ length: count }, () => new Float32Array(frames));
  let offset = 0;
  for (const chunk of chunks) {
    if (chunk.channels.length !== count || chunk.sampleRate !== chunks[0].sampleRate) throw new Error('chunks disagree on their shape');
    chunk.channels.forEach((c, i) => channels[i].set(c, offset));
    offset += chunk.channels[0].length;
  }
  return { sampleRate: chunks[0].sampleRate, channels };
}

/** Mean-square level and rising zero crossings per second of a channel. */
function describeSignal(samples: Float32Array, sampleRate: number) {
  let energy = 0;
  let crossings = 0;
  for (let i = 0; i < samples.length; i++) {
    energy += samples[i] * samples[i];
    if (i > 0 && samples[i - 1] < 0 && samples[i] >= 0) crossings++;
  }
  return { rms: Math.sqrt(energy / samples.length), hz: (crossings * sampleRate) / samples.length };
}

/** What mpg123-decoder gives for the whole file at once: the reference. */
async function reference(bytes: Uint8Array): Promise<Float32Array[]> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    return decoder.decode(bytes).channelData;
  } finally {
    decoder.free();
  }
}

function id3Tag(bodyBytes: number): Uint8Array {
  const tag = new Uint8Array(10 + bodyBytes);
  tag.set([0x49, 0x44, 0x33, 4, 0, 0]);
  tag[6] = (bodyBytes >> 21) & 0x7f;
  tag[7] = (bodyBytes >> 14) & 0x7f;
  tag[8] = (bodyBytes >> 7) & 0x7f;
  tag[9] = bodyBytes & 0x7f;
  tag.fill(0xff, 10); // sync-like bytes inside the tag must not fool the channel finder
  return tag;
}

describe('sniffContainer', () => {
  it('tells MP3, WAV and raw PCM apart from the first bytes, asking for more only while it cannot tell', () => {
    const wav = encodeWav(sine({ frames: 10 }));
    expect(sniffContainer(wav.subarray(0, 3), false)).toBeUndefined();
    expect(sniffContainer(wav.subarray(0, 12), false)).toBe('wav');
    expect(sniffContainer(new TextEncoder().encode('RIFF\0\0\0\0AVI '), false)).toBe('pcm');
    expect(sniffContainer(id3Tag(20).subarray(0, 9), false)).toBeUndefined();
    expect(sniffContainer(id3Tag(20), false)).toBe('mp3');
    expect(sniffContainer(monoMp3.subarray(0, 100), false)).toBeUndefined(); // one frame is 144 bytes: wait for the next header
    expect(sniffContainer(monoMp3.subarray(0, 100), true)).toBe('mp3');
    expect(sniffContainer(monoMp3.subarray(0, 148), false)).toBe('mp3');
    expect(sniffContainer(Uint8Array.from([0xff, 0xff, 0xff, 0xff]), false)).toBe('pcm'); // s16 −1s: bitrate index 15 is invalid
    expect(sniffContainer(Uint8Array.from([0x10, 0x20]), false)).toBe('pcm');
    expect(sniffContainer(new Uint8Array(0), false)).toBeUndefined();
    expect(sniffContainer(new Uint8Array(0), true)).toBe('pcm');
  });

  it('is not fooled by a lone sync word in PCM', () => {
    const bytes = new Uint8Array(4000);
    bytes.set([0xff, 0xfb, 0x90, 0x64]); // a valid MPEG-1 layer III header, no second frame after it
    expect(sniffContainer(bytes, false)).toBe('pcm');
  });
});

describe('decode (MP3)', () => {
  it('decodes mono MP3 to mono PCM that sounds like the source', async () => {
    const { pcm, ctx, error } = await decodeParts([monoMp3], mp3Format);
    expect(error).toBeUndefined();
    expect(pcm!.sampleRate).toBe(24000);
    expect(pcm!.channels.length).toBe(1);
    const frames = pcm!.channels[0].length;
    expect(frames).toBeGreaterThanOrEqual(7200);
    expect(frames).toBeLessThan(7200 + 3 * 1152);
    const body = describeSignal(pcm!.channels[0].subarray(1500, 6500), 24000);
    const source = describeSignal(monoSource.channels[0], 24000);
    expect(body.hz).toBeGreaterThan(420);
    expect(body.hz).toBeLessThan(460);
    expect(Math.abs(body.rms - source.rms) / source.rms).toBeLessThan(0.1);
    expect(ctx.metrics.firstAudioMs).toBeDefined();
    expect(ctx.events.filter((e) => e.type === 'warning')).toEqual([]);
  });

  it('decodes stereo MP3 to stereo PCM with each channel its own', async () => {
    const { pcm } = await decodeParts([stereoMp3]);
    expect(pcm!.sampleRate).toBe(44100);
    expect(pcm!.channels.length).toBe(2);
    const left = describeSignal(pcm!.channels[0].subarray(2000, 8000), 44100);
    const right = describeSignal(pcm!.channels[1].subarray(2000, 8000), 44100);
    expect(left.hz).toBeGreaterThan(420);
    expect(left.hz).toBeLessThan(460);
    expect(right.hz).toBeGreaterThan(850);
    expect(right.hz).toBeLessThan(910);
  });

  it.each([
    ['mono', () => monoMp3],
    ['stereo', () => stereoMp3],
  ])('%s: output is bit-exact with one whole-file mpg123 decode, whatever the chunking (1-byte included), declared or sniffed', async (name, file) => {
    const bytes = file();
    const ref = await reference(bytes);
    const expected = name === 'mono' ? [ref[0]] : ref;
    await fc.assert(
      fc.asyncProperty(bytePartitions(bytes), fc.boolean(), async (parts, declared) => {
        const { pcm, error } = await decodeParts(parts, declared ? mp3Format : anyBytes);
        expect(error).toBeUndefined();
        expect(pcm!.channels).toEqual(expected);
      }),
      { numRuns: 12 },
    );
  });

  it('skips an ID3v2 tag, sniffed or declared, and still finds that the stream is mono', async () => {
    const tagged = join([id3Tag(3000), monoMp3]);
    const ref = await reference(monoMp3);
    for (const format of [anyBytes, mp3Format]) {
      const { pcm } = await decodeParts([tagged.subarray(0, 7), tagged.subarray(7, 2000), tagged.subarray(2000)], format);
      expect(pcm!.channels).toEqual([ref[0]]);
    }
  });

  it('follows a declared channel count: stereo → mono as the mean, mono → two equal channels', async () => {
    const ref = await reference(stereoMp3);
    const mono = (await decodeParts([stereoMp3], { ...mp3Format, channels: 1 })).pcm!;
    expect(mono.channels.length).toBe(1);
    expect(mono.channels[0][5000]).toBeCloseTo((ref[0][5000] + ref[1][5000]) / 2, 6);
    const twice = (await decodeParts([monoMp3], { ...mp3Format, channels: 2 })).pcm!;
    expect(twice.channels.length).toBe(2);
    expect(twice.channels[1]).toEqual(twice.channels[0]);
  });

  it('uses the container the source declares at run time', async () => {
    const run = pipeline(fromBytes(monoMp3, { format: mp3Format, chunkSize: 100 }), decode(), collect());
    const { value } = await run.done;
    expect(value!.pcm!.channels[0].length).toBeGreaterThan(7200);
    expect(run.metrics.firstAudioMs).toBeDefined();
  });

  it('reports corrupt or truncated MP3 as warnings or a typed decode error, does not print its errors, never hangs', async () => {
    const original = console.error;
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(stereoMp3.byteLength - 1), fc.nat(255)), { minLength: 1, maxLength: 40 }),
          fc.nat(stereoMp3.byteLength),
          fc.integer({ min: 1, max: 4096 }),
          async (edits, cut, chunkSize) => {
            const bytes = stereoMp3.slice(0, cut);
            for (const [at, value] of edits) if (at < bytes.byteLength) bytes[at] = value;
            const parts: Uint8Array[] = [];
            for (let i = 0; i < bytes.byteLength; i += chunkSize) parts.push(bytes.subarray(i, i + chunkSize));
            const { error, ctx } = await decodeParts(parts, mp3Format);
            if (error !== undefined) {
              expect(error).toBeInstanceOf(VoxpipeError);
              expect((error as VoxpipeError).code).toBe('decode');
            }
            for (const event of ctx.events.filter((e) => e.type === 'warning')) expect(event.detail).toMatchObject({ code: 'decode' });
          },
        ),
        { numRuns: 40 },
      );
      // random bytes with MPEG sync words sprinkled in: mpg123 reports errors here
      let warned = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const bytes = noise(8000, seed);
        for (let i = 0; i + 2 < bytes.length; i += 50 + ((bytes[i + 2] * 3) % 800)) bytes.set([0xff, 0xe0 | (bytes[i + 1] & 0x1f)], i);
        const { error, ctx } = await decodeParts([bytes], mp3Format);
        if (error !== undefined) expect((error as VoxpipeError).code).toBe('decode');
        warned += ctx.events.filter((e) => e.type === 'warning').length;
      }
      expect(warned).toBeGreaterThan(0);
      // mpg123's errors are warnings, not prints; only the one line its C code prints itself may appear (see decodeQuietly).
      for (const call of spy.mock.calls) expect(call).toEqual(['Truncating stereo boundary to sideband limit.']);
    } finally {
      spy.mockRestore();
    }
    expect(console.error).toBe(original);
  });

  it('is split-invariant on corrupt MP3 too: the same samples, rate and channels however it is cut', async () => {
    const damaged = fc
      .array(fc.tuple(fc.nat(stereoMp3.byteLength - 1), fc.nat(255)), { minLength: 1, maxLength: 40 })
      .map((edits) => {
        const bytes = stereoMp3.slice();
        for (const [at, value] of edits) bytes[at] = value;
        return bytes;
      });
    await fc.assert(
      fc.asyncProperty(damaged.chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes))), async ([bytes, parts]) => {
        const whole = await decodeParts([bytes], mp3Format);
        const cut = await decodeParts(parts, mp3Format);
        expect(String(cut.error)).toBe(String(whole.error));
        expect(cut.pcm).toEqual(whole.pcm);
      }),
      { numRuns: 15 },
    );
  });

  it('fails with a decode error when declared MP3 holds no MPEG audio at all', async () => {
    const { error } = await decodeParts([new TextEncoder().encode('<html>Service unavailable</html>'.repeat(20))], mp3Format);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect((error as VoxpipeError).code).toBe('decode');
    expect((error as VoxpipeError).stage).toBe('decode');
  });

  it('frees the decoder when the run ends, is aborted mid-stream, or is aborted before the decoder is ready', async () => {
    // run end
    await decodeParts([monoMp3], mp3Format);
    expect(liveMp3Decoders()).toBe(0);

    // aborted mid-stream, in a pipeline
    const run = pipeline(fromBytes(stereoMp3, { format: mp3Format, chunkSize: 64 }), decode(), collect());
    await run.events.once('first-audio');
    expect(liveMp3Decoders()).toBe(1);
    run.abort();
    expect((await run.done).outcome).toBe('aborted');
    expect(liveMp3Decoders()).toBe(0);

    // aborted while the WASM decoder is still starting
    const ctx = testContext('decode');
    const stream = decode().create(ctx, mp3Format);
    const writer = stream.writable.getWriter();
    void writer.write(monoMp3.subarray(0, 500)).catch(() => {});
    await Promise.resolve();
    ctx.controller.abort();
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
    await settleTurns(20); // the decoder becomes ready, sees it was freed, and lets go
    expect(liveMp3Decoders()).toBe(0);
    await stream.readable.cancel().catch(() => {});
  });

  it('buffers little behind a stalled reader', async () => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < stereoMp3.byteLength; i += 256) parts.push(stereoMp3.subarray(i, i + 256));
    const ctx = testContext('decode');
    expect(await acceptedAfterReads(decode(), parts, mp3Format, 0, ctx)).toBeLessThanOrEqual(4);
    expect(await acceptedAfterReads(decode(), parts, mp3Format, 1)).toBeLessThanOrEqual(12); // until the first frames are out
    await settleTurns(20);
  });
});

function noise(length: number, seed: number): Uint8Array {
  let state = seed * 2654435761;
  return Uint8Array.from({ length }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state & 255;
  });
}

describe('decode (raw PCM and G.711)', () => {
  const s16 = (values: number[]) => new Uint8Array(Int16Array.from(values).buffer);

  it('reads headerless bytes as s16le 24 kHz mono by default, whatever the chunking', async () => {
    const values = Array.from({ length: 501 }, (_, i) => ((i * 1237) % 65536) - 32768);
    const bytes = s16(values).slice(0, 1001); // an odd byte at the end
    await fc.assert(
      fc.asyncProperty(bytePartitions(bytes), async (parts) => {
        const { pcm, ctx, error } = await decodeParts(parts);
        expect(error).toBeUndefined();
        expect(pcm!.sampleRate).toBe(24000);
        expect(pcm!.channels.length).toBe(1);
        expect([...pcm!.channels[0]]).toEqual(values.slice(0, 500).map((v) => v / 32768));
        expect(ctx.events.filter((e) => e.type === 'warning').length).toBe(1); // the odd byte
      }),
      { numRuns: 25 },
    );
  });

  it('follows the declared format, then the fallback option', async () => {
    const floats = new Uint8Array(Float32Array.from([0.25, -0.5, 0.75, -1]).buffer);
    const declared = await decodeParts([floats], { kind: 'bytes', container: 'pcm', encoding: 'f32le', sampleRate: 16000, channels: 2 });
    expect(declared.pcm).toEqual({ sampleRate: 16000, channels: [Float32Array.from([0.25, 0.75]), Float32Array.from([-0.5, -1])] });
    const fallback = await decodeParts([floats], anyBytes, decode({ fallback: { encoding: 'f32le', sampleRate: 8000 } }));
    expect(fallback.pcm).toEqual({ sampleRate: 8000, channels: [Float32Array.from([0.25, -0.5, 0.75, -1])] });
    expect(decode({ fallback: { sampleRate: 8000 } }).gives({ kind: 'bytes', container: 'pcm' })).toEqual({ kind: 'pcm', sampleRate: 8000, channels: 1 });
    expect(decode().gives({ kind: 'bytes', container: 'mp3', sampleRate: 44100 })).toEqual({ kind: 'pcm', sampleRate: 44100 });
  });

  it('decodes declared µ-law and A-law at 8 kHz', async () => {
    for (const container of ['mulaw', 'alaw'] as const) {
      const { pcm } = await decodeParts([Uint8Array.from({ length: 80 }, (_, i) => i)], { kind: 'bytes', container });
      expect(pcm!.sampleRate).toBe(8000);
      expect(pcm!.channels[0].length).toBe(80);
    }
  });

  it('decodes a WAV when nothing declares it', async () => {
    const source = sine({ sampleRate: 16000, frames: 100 });
    const { pcm } = await decodeParts([encodeWav(source, 'f32le')]);
    expect(pcm).toEqual(source);
  });

  it('gives nothing for no input, and rejects bad options', async () => {
    expect((await decodeParts([])).chunks).toEqual([]);
    expect(() => decode({ fallback: { encoding: 'u8' as never } })).toThrow(/decode.*encoding/);
    expect(() => decode({ fallback: { sampleRate: 5 } })).toThrow(/sampleRate/);
  });
});

describe('codecStages', () => {
  it('builds tone → mp3Encode → decode → collect from a spec, and writes it back', async () => {
    const spec = {
      stages: [
        { stage: 'tone', options: { ms: 300, frequency: 600 } },
        { stage: 'mp3Encode', options: { bitrate: 64 } },
        { stage: 'decode', options: {} },
        { stage: 'collect', options: { kind: 'pcm' } },
      ],
    };
    const run = pipeline.fromSpec(spec, { ...coreStages, ...codecStages });
    const { value } = (await run.done) as { value: { pcm: PcmChunk } };
    expect(value.pcm.sampleRate).toBe(24000);
    expect(value.pcm.channels.length).toBe(1);
    const body = describeSignal(value.pcm.channels[0].subarray(2000, 6000), 24000);
    expect(body.hz).toBeGreaterThan(580);
    expect(body.hz).toBeLessThan(620);
    expect(Object.keys(codecStages).sort()).toEqual(['alawDecode', 'alawEncode', 'decode', 'mp3Encode', 'mulawDecode', 'mulawEncode', 'wavEncode']);
  });
});

const mpg123Cli = (() => {
  try {
    execFileSync('mpg123', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

if (!mpg123Cli) console.warn('MP3 against the mpg123 command: skipped, no mpg123 on PATH (apt-get install mpg123)');
describe.skipIf(!mpg123Cli)('MP3 against the mpg123 command (skipped where mpg123 is missing)', () => {
  it('gives the same samples as mpg123 -s (to 16-bit precision)', async () => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'voxpipe-mp3-'));
    try {
      writeFileSync(joinPath(dir, 'in.mp3'), stereoMp3);
      execFileSync('mpg123', ['-q', '-s', '-w', joinPath(dir, 'out.wav'), joinPath(dir, 'in.mp3')], { stdio: 'ignore' });
      const theirs = (await decodeParts([new Uint8Array(readFileSync(joinPath(dir, 'out.wav')))])).pcm!;
      const ours = (await decodeParts([stereoMp3])).pcm!;
      expect(theirs.channels.length).toBe(2);
      expect(ours.channels[0].length).toBe(theirs.channels[0].length);
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < ours.channels[c].length; i++) expect(Math.abs(ours.channels[c][i] - theirs.channels[c][i])).toBeLessThan(2 / 32768);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
