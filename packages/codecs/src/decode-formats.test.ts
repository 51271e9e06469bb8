import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { collect, fromBytes, pipeline, ReadableStream, VoxpipeError, type Container, type Format, type PcmChunk, type SourceStage } from '@voxpipe/core';
import * as abortKit from '@voxpipe/core/testing';
import { bytePartitions, failureOf, settleTurns, testContext } from '@voxpipe/core/testing';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decode } from './decode.js';
import { liveDecoders } from './live-decoders.js';
import { oggCrc, OggPacketReader, oggPage, readOggPageHeader } from './ogg-page.js';
import { OggOpusStreamDecoder } from './opus-decoder.js';
import { sniffContainer } from './sniff.js';
import { hasTool } from '../../../test/support/tools.js';

const ffmpeg = hasTool('ffmpeg', 'Opus, FLAC and Vorbis decoding (to make and cross-check the files)');

interface Fixture {
  name: string;
  container: Container;
  bytes: Uint8Array;
  sampleRate: number;
  channels: number;
  /** ffmpeg's own decode of the same file, planar, at our output rate. */
  theirs: Float32Array[];
  /** How close ours must be to ffmpeg's: the same 16-bit samples for FLAC (Infinity), else an SNR in dB (other decoders, or a resampled reference). */
  snrDb: number;
  /** How many samples ours may differ in length from ffmpeg's. */
  lengthSlack: number;
}

let dir = '';
const fixtures = new Map<string, Fixture>();
const sine = (hz: number, rate: number, seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=${rate}:duration=${seconds}`];

function make(name: string, container: Container, input: string[], encode: string[], ref: { args?: string[]; sampleRate: number; channels: number }, snrDb: number, lengthSlack = 0, edit?: (bytes: Uint8Array) => void): void {
  const file = joinPath(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...input, ...encode, file]);
  if (edit) {
    const bytes = new Uint8Array(readFileSync(file));
    edit(bytes);
    writeFileSync(file, bytes);
  }
  const raw = execFileSync('ffmpeg', ['-v', 'error', ...(ref.args ?? []), '-i', file, '-ar', String(ref.sampleRate), '-f', 'f32le', '-c:a', 'pcm_f32le', '-'], { maxBuffer: 1 << 26 });
  const interleaved = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const frames = interleaved.length / ref.channels;
  const theirs = Array.from({ length: ref.channels }, (_, c) => Float32Array.from({ length: frames }, (_, i) => interleaved[i * ref.channels + c]));
  fixtures.set(name, { name, container, bytes: new Uint8Array(readFileSync(file)), sampleRate: ref.sampleRate, channels: ref.channels, theirs, snrDb, lengthSlack });
}

beforeAll(() => {
  if (!ffmpeg) return;
  dir = mkdtempSync(joinPath(tmpdir(), 'voxpipe-formats-'));
  const stereo48 = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=0.4', '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000:duration=0.4', '-filter_complex', '[0][1]amerge=inputs=2'];
  // a 24 kHz voice-like stream in 20 ms pages (as a streaming server sends it): decoded at 24 kHz; ffmpeg's 48 kHz decode resampled
  make('voice.opus', 'opus', sine(440, 24000, 0.5), ['-c:a', 'libopus', '-b:a', '32k', '-page_duration', '20000'], { sampleRate: 24000, channels: 1 }, 15);
  // the same stream with its OpusHead saying 48 kHz: decoded at 48 kHz, as libopus in ffmpeg decodes it
  make('voice48.opus', 'opus', sine(440, 24000, 0.5), ['-c:a', 'libopus', '-b:a', '32k', '-page_duration', '20000'], { args: ['-c:a', 'libopus'], sampleRate: 48000, channels: 1 }, 60, 0, setInputRate48k);
  // stereo at 48 kHz in one audio page (first page is also the last): libopus decodes both, the same samples
  make('stereo.opus', 'opus', stereo48, ['-c:a', 'libopus', '-b:a', '64k'], { args: ['-c:a', 'libopus'], sampleRate: 48000, channels: 2 }, 60);
  make('stereo.flac', 'flac', stereo48, ['-c:a', 'flac'], { sampleRate: 48000, channels: 2 }, Infinity);
  make('mono.oga', 'flac', sine(440, 24000, 0.5), ['-c:a', 'flac', '-f', 'ogg'], { sampleRate: 24000, channels: 1 }, Infinity);
  make('mono.ogg', 'vorbis', sine(440, 22050, 0.5), ['-c:a', 'libvorbis'], { sampleRate: 22050, channels: 1 }, 40, 512);
});

/** Rewrites the first page's OpusHead input rate to 48 kHz, and its CRC. */
function setInputRate48k(bytes: Uint8Array): void {
  const page = readOggPageHeader(bytes)!;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setUint32(page.headerBytes + 12, 48000, true);
  view.setUint32(22, 0, true);
  view.setUint32(22, oggCrc(bytes.subarray(0, page.pageBytes)), true);
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  // every run frees its decoders (a WASM decoder is freed once it is ready and idle)
  for (let i = 0; i < 50 && liveDecoders() > 0; i++) await settleTurns(5);
  expect(liveDecoders()).toBe(0);
});

async function decodeParts(parts: Uint8Array[], format: Format = { kind: 'bytes' }) {
  const ctx = testContext('decode');
  const { error, output } = await failureOf(decode(), parts, format, ctx);
  return { error, chunks: output, pcm: output.length ? concat(output) : undefined, ctx };
}

function concat(chunks: PcmChunk[]): PcmChunk {
  const frames = chunks.reduce((n, c) => n + c.channels[0].length, 0);
  const channels = chunks[0].channels.map(() => new Float32Array(frames));
  let at = 0;
  for (const chunk of chunks) {
    expect(chunk.sampleRate).toBe(chunks[0].sampleRate);
    expect(chunk.channels.length).toBe(channels.length);
    chunk.channels.forEach((c, i) => channels[i].set(c, at));
    at += chunk.channels[0].length;
  }
  return { sampleRate: chunks[0].sampleRate, channels };
}

/** Float samples as the 16-bit integers they were. */
function s16(samples: Float32Array): Int16Array {
  return Int16Array.from(samples, (x) => Math.round(x * 32768));
}

/** Signal-to-difference ratio in dB of `ours` against `theirs` over their common length. */
function snr(ours: Float32Array, theirs: Float32Array): number {
  let signal = 0;
  let noise = 0;
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    signal += theirs[i] * theirs[i];
    noise += (ours[i] - theirs[i]) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

const names = ['voice.opus', 'voice48.opus', 'stereo.opus', 'stereo.flac', 'mono.oga', 'mono.ogg'];

describe.skipIf(!ffmpeg)('decode: Opus, FLAC, Vorbis against ffmpeg (skipped where ffmpeg is missing)', () => {
  it.each(names)('%s: the rate, channels, length and samples of ffmpeg decoding the same file', async (name) => {
    const f = fixtures.get(name)!;
    const { pcm, error, ctx } = await decodeParts([f.bytes], { kind: 'bytes', container: f.container });
    expect(error).toBeUndefined();
    expect(pcm!.sampleRate).toBe(f.sampleRate);
    expect(pcm!.channels.length).toBe(f.channels);
    expect(Math.abs(pcm!.channels[0].length - f.theirs[0].length)).toBeLessThanOrEqual(f.lengthSlack);
    for (let c = 0; c < f.channels; c++) {
      if (f.snrDb === Infinity) expect(s16(pcm!.channels[c])).toEqual(s16(f.theirs[c]));
      else expect(snr(pcm!.channels[c], f.theirs[c])).toBeGreaterThan(f.snrDb);
    }
    expect(ctx.events.filter((e) => e.type === 'warning')).toEqual([]);
    expect(ctx.metrics.firstAudioMs).toBeDefined();
  });

  it.each(names)('%s: the same samples whatever the chunking (1-byte included), declared or sniffed', async (name) => {
    const f = fixtures.get(name)!;
    const whole = (await decodeParts([f.bytes])).pcm!;
    expect(sniffContainer(f.bytes, false)).toBe(f.container);
    await fc.assert(
      fc.asyncProperty(bytePartitions(f.bytes), fc.constantFrom<Container | undefined>(undefined, f.container, 'ogg'), async (parts, container) => {
        if (container === 'ogg' && f.name.endsWith('.flac')) container = f.container; // native FLAC is not Ogg
        const { pcm, error } = await decodeParts(parts, container ? { kind: 'bytes', container } : { kind: 'bytes' });
        expect(error).toBeUndefined();
        expect(pcm).toEqual(whole);
      }),
      { numRuns: 6 },
    );
  });

  it.each(names)('%s: corrupt or cut input gives warnings or a typed decode error, prints nothing, never hangs, and is split-invariant', async (name) => {
    const f = fixtures.get(name)!;
    const spy = vi.spyOn(console, 'error');
    const warn = vi.spyOn(console, 'warn');
    try {
      const damaged = fc
        .tuple(fc.array(fc.tuple(fc.nat(f.bytes.byteLength - 1), fc.nat(255)), { minLength: 1, maxLength: 30 }), fc.nat(f.bytes.byteLength))
        .map(([edits, cut]) => {
          const bytes = f.bytes.slice(0, Math.max(cut, 1));
          for (const [at, value] of edits) if (at < bytes.byteLength) bytes[at] = value;
          return bytes;
        });
      await fc.assert(
        fc.asyncProperty(damaged.chain((bytes) => fc.tuple(fc.constant(bytes), bytePartitions(bytes))), async ([bytes, parts]) => {
          const whole = await decodeParts([bytes], { kind: 'bytes', container: f.container });
          const cut = await decodeParts(parts, { kind: 'bytes', container: f.container });
          for (const { error, ctx } of [whole, cut]) {
            if (error !== undefined) {
              expect(error).toBeInstanceOf(VoxpipeError);
              expect((error as VoxpipeError).code).toBe('decode');
            }
            for (const event of ctx.events.filter((e) => e.type === 'warning')) expect(event.detail).toMatchObject({ code: 'decode' });
          }
          expect(String(cut.error)).toBe(String(whole.error));
          expect(cut.pcm).toEqual(whole.pcm);
        }),
        { numRuns: 10 },
      );
      expect(spy).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      warn.mockRestore();
    }
  });

  it.each(names)('%s: frees its decoder when aborted mid-stream or while the decoder is starting', async (name) => {
    const f = fixtures.get(name)!;
    const run = pipeline(fromBytes(f.bytes, { format: { kind: 'bytes', container: f.container }, chunkSize: 64 }), decode(), collect());
    await run.events.once('first-audio');
    expect(liveDecoders()).toBe(1);
    run.abort();
    expect((await run.done).outcome).toBe('aborted');

    const ctx = testContext('decode');
    const stream = decode().create(ctx, { kind: 'bytes', container: f.container });
    const writer = stream.writable.getWriter();
    void writer.write(f.bytes.subarray(0, 4000)).catch(() => {});
    await settleTurns(2);
    ctx.controller.abort();
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);
    await stream.readable.cancel().catch(() => {});
    // afterEach: the decoder is freed once it has started
  });

  it('decodes chained Ogg Opus streams one after another, each with its own pre-skip and end', async () => {
    const f = fixtures.get('voice.opus')!;
    const single = (await decodeParts([f.bytes])).pcm!;
    const { pcm, ctx, error } = await decodeParts([abortKit.joinBytes([f.bytes, f.bytes])], { kind: 'bytes', container: 'opus' });
    expect(error).toBeUndefined();
    expect(pcm!.channels[0].length).toBe(2 * single.channels[0].length);
    expect(pcm!.channels[0].subarray(single.channels[0].length)).toEqual(single.channels[0]);
    expect(ctx.events.filter((e) => e.type === 'warning')).toEqual([]);
  });

  it('property: an Opus decode aborted at any point settles every read and write, and leaves nothing behind', () =>
    abortKit.abortAtAnyPoint({ stage: () => decode(), chunk: () => fixtures.get('voice.opus')!.bytes.subarray(0, 700), format: { kind: 'bytes', container: 'opus' } }, 15));
  it('property: a run decoding FLAC aborted at any point ends aborted, and its source is asked for nothing more', () =>
    abortKit.runAbortedAtAnyPull({ stage: () => decode(), chunk: () => fixtures.get('stereo.flac')!.bytes.subarray(0, 700), format: { kind: 'bytes', container: 'flac' } }));

  it("gives an Opus page's audio as soon as the page's last byte is in, without waiting for the next page", async () => {
    const f = fixtures.get('voice.opus')!;
    const decoder = new OggOpusStreamDecoder(() => {});
    let offset = 0;
    let pages = 0;
    let firstAudioPage = -1;
    while (offset < f.bytes.byteLength) {
      const header = readOggPageHeader(f.bytes, offset)!;
      const out = await decoder.push(f.bytes.subarray(offset, offset + header.pageBytes));
      if (pages >= 2 && header.granule > 0n) {
        // a page whose packets make more than the pre-skip gives audio at once
        if (firstAudioPage < 0 && header.granule > 312n) firstAudioPage = pages;
        if (firstAudioPage >= 0) expect(out.length, `page ${pages}`).toBeGreaterThan(0);
      }
      offset += header.pageBytes;
      pages++;
    }
    await decoder.end();
    expect(firstAudioPage).toBe(2);
  });
});

describe('decode: decoders loaded on demand', () => {
  it('loads nothing for PCM, and starts loading the decoder the source declares before its first byte', async () => {
    vi.resetModules(); // fresh module state: no decoder loaded yet
    const { decode: freshDecode } = await import('./decode.js');
    const { decoderReady } = await import('./load-decoder.js');
    const pcmRun = pipeline(fromBytes(new Uint8Array(4800), { format: { kind: 'bytes', container: 'pcm', sampleRate: 24000, channels: 1 } }), freshDecode(), collect());
    await pcmRun.done;
    for (const codec of ['mp3', 'opus', 'flac', 'vorbis'] as const) expect(decoderReady(codec), codec).toBe(false);

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let sent = false;
    const source: SourceStage<Uint8Array> = {
      role: 'source',
      name: 'slowResponse',
      gives: { kind: 'bytes' },
      open(ctx) {
        ctx.declare({ kind: 'bytes', container: 'flac' }); // the headers say FLAC; the body comes later
        return new ReadableStream<Uint8Array>({
          async pull(controller) {
            await released;
            if (sent) return controller.close();
            sent = true;
            controller.enqueue(Uint8Array.of(0x66, 0x4c, 0x61, 0x43));
          },
        });
      },
    };
    const run = pipeline(source, freshDecode(), collect());
    for (let i = 0; i < 400 && !decoderReady('flac'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(decoderReady('flac')).toBe(true);
    expect(sent).toBe(false);
    expect(decoderReady('opus')).toBe(false);
    release();
    const error = await run.done.then(() => undefined, (e: unknown) => e);
    expect(String(error)).toMatch(/No FLAC audio could be decoded from 4 bytes/); // (modules were reset: another VoxpipeError class)
  });
});

describe('Ogg pages', () => {
  it('property: packets written with oggPage are read back whole, in order, with their flags and granules, however the bytes are cut', async () => {
    const packet = fc.uint8Array({ minLength: 0, maxLength: 700 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(packet, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }).chain((pages) => {
          const bytes = abortKit.joinBytes(pages.map((packets, i) => oggPage({ serial: 7, sequence: i, granule: BigInt(i * 960), packets, bos: i === 0, eos: i === pages.length - 1 })));
          return fc.tuple(fc.constant(pages), bytePartitions(bytes));
        }),
        async ([pages, parts]) => {
          const reader = new OggPacketReader();
          const read = parts.flatMap((part) => reader.push(part));
          expect(read.map((p) => p.data)).toEqual(pages.flat());
          expect(read.filter((p) => p.granule >= 0n).map((p) => p.granule)).toEqual(pages.map((_, i) => BigInt(i * 960)));
          expect(read[0].bos).toBe(true);
          expect(read.at(-1)!.eos).toBe(true);
          expect(reader.skipped).toBe(0);
          expect(reader.pending).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('drops a page whose CRC is wrong and skips bytes between pages', () => {
    const a = oggPage({ serial: 1, sequence: 0, granule: 0n, packets: [Uint8Array.of(1, 2, 3)], bos: true });
    const b = oggPage({ serial: 1, sequence: 1, granule: 960n, packets: [Uint8Array.of(4, 5)] });
    const c = oggPage({ serial: 1, sequence: 2, granule: 1920n, packets: [Uint8Array.of(6)], eos: true });
    b[28] ^= 1; // a body byte: the CRC no longer holds
    const reader = new OggPacketReader();
    const read = reader.push(abortKit.joinBytes([a, Uint8Array.of(9, 9, 9), b, c]));
    expect(read.map((p) => [...p.data])).toEqual([[1, 2, 3], [6]]);
    expect(reader.skipped).toBe(3 + b.byteLength);
  });

  it('refuses a page of more than 255 segments', () => {
    expect(() => oggPage({ serial: 1, sequence: 0, granule: 0n, packets: [new Uint8Array(255 * 255)] })).toThrow(/255 segments/);
  });
});

describe('decode: what is not Opus, FLAC or Vorbis', () => {
  it('fails with a decode error when declared Opus holds no Ogg pages, and on an Ogg of another codec', async () => {
    const html = new TextEncoder().encode('<html>Service unavailable</html>'.repeat(20));
    for (const container of ['opus', 'flac', 'vorbis', 'ogg'] as const) {
      const { error } = await decodeParts([html], { kind: 'bytes', container });
      expect(error, container).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code, container).toBe('decode');
    }
    const speex = oggPage({ serial: 1, sequence: 0, granule: 0n, packets: [new TextEncoder().encode('Speex   1.2')], bos: true });
    expect(sniffContainer(speex, false)).toBe('ogg');
    const { error } = await decodeParts([speex]);
    expect((error as VoxpipeError).message).toMatch(/codec other than Opus, Vorbis or FLAC/);
  });
});
