import { MPEGDecoder } from 'mpg123-decoder';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeQuietly, liveMp3Decoders, Mp3Decoder, mp3DecodesQuietly } from './mp3-decoder.js';
import { encodeMp3, sine } from './testing/fixtures.js';

/** What console.error was each time mpg123's WASM was asked for audio (i.e. during decoding). */
const seenDuringDecode: Array<typeof console.error> = [];

// Every MPEGDecoder made here (the ones Mp3Decoder makes included) notes console.error from inside its decode calls.
vi.mock('mpg123-decoder', async (importOriginal) => {
  const original = await importOriginal<typeof import('mpg123-decoder')>();
  function Observed(this: unknown, options?: { enableGapless?: boolean }) {
    const decoder = new original.MPEGDecoder(options);
    void decoder.ready.then(() => {
      const wasm = (decoder as unknown as { _common: { wasm: Record<string, (...args: number[]) => number> } })._common.wasm;
      const read = wasm.mpeg_decoder_read;
      wasm.mpeg_decoder_read = (...args: number[]) => {
        seenDuringDecode.push(console.error);
        return read(...args);
      };
    });
    return decoder;
  }
  return { ...original, MPEGDecoder: Observed };
});

let stereoMp3: Uint8Array;

/** The one message mpg123's C code prints to stderr itself (for a false layer II header); see decodeQuietly. */
const MPG123_C_NOTE = 'Truncating stereo boundary to sideband limit.';

beforeAll(async () => {
  stereoMp3 = await encodeMp3(sine({ sampleRate: 44100, channels: 2, frames: 8820 }));
});

afterEach(() => {
  vi.restoreAllMocks();
  expect(liveMp3Decoders()).toBe(0);
});

/** Random bytes with MPEG sync words sprinkled in: mpg123 reports errors on these. */
function syncNoise(length: number, seed: number): Uint8Array {
  let state = seed * 2654435761;
  const bytes = Uint8Array.from({ length }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state & 255;
  });
  for (let i = 0; i + 2 < bytes.length; i += 50 + ((bytes[i + 2] * 3) % 800)) bytes.set([0xff, 0xe0 | (bytes[i + 1] & 0x1f)], i);
  return bytes;
}

/** Good frames with some bytes overwritten. */
function damaged(seed: number): Uint8Array {
  const bytes = stereoMp3.slice();
  let state = seed;
  for (let k = 0; k < 30; k++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[state % bytes.length] = state >>> 24;
  }
  return bytes;
}

async function started(): Promise<MPEGDecoder> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  return decoder;
}

describe('Mp3Decoder and the console', () => {
  it('leaves console.error alone before, during and after decoding bad input', async () => {
    const before = console.error;
    seenDuringDecode.length = 0;
    const messages: string[] = [];
    // (Seed 14 would also print the line mpg123's C code prints itself; see decodeQuietly.)
    for (let seed = 1; seed <= 13; seed++) {
      const decoder = new Mp3Decoder((message) => messages.push(message));
      await decoder.ready;
      try {
        for (let i = 0; i < 8000; i += 1000) decoder.push(syncNoise(8000, seed).subarray(i, i + 1000));
        decoder.end();
      } catch {
        // no audio at all: a typed decode error, tested in decode.test.ts
      } finally {
        decoder.free();
      }
    }
    expect(messages.some((m) => /^MP3: -?\d+ /.test(m))).toBe(true); // mpg123's own errors came through
    expect(seenDuringDecode.length).toBeGreaterThan(0);
    for (const seen of seenDuringDecode) expect(seen).toBe(before);
    expect(console.error).toBe(before);
  });

  it('does not print its errors: the pinned mpg123-decoder is driven without its console output', async () => {
    const decoder = await started();
    try {
      expect(mp3DecodesQuietly(decoder)).toBe(true);
      const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
      let errors = 0;
      for (let seed = 1; seed <= 20; seed++) errors += decodeQuietly(decoder, syncNoise(8000, seed)).errors.length;
      expect(errors).toBeGreaterThan(0);
      // Only the line mpg123's C code prints itself (see decodeQuietly), never one call per error.
      for (const call of printed.mock.calls) expect(call).toEqual([MPG123_C_NOTE]);
      expect(printed.mock.calls.length).toBeLessThan(errors);
    } finally {
      decoder.free();
    }
  });

  it('gives what mpg123-decoder’s own decode gives: samples, rate and errors, however the input is cut', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {}); // the library's own decode prints; mute it for the comparison
    const inputs = [stereoMp3, damaged(7), damaged(99), syncNoise(6000, 3), new Uint8Array(0)];
    for (const input of inputs) {
      for (const size of [input.length || 1, 417, 64, 1]) {
        const [quiet, loud] = [await started(), await started()];
        try {
          for (let i = 0; i < Math.max(1, input.length); i += size) {
            const piece = input.subarray(i, i + size);
            const a = decodeQuietly(quiet, piece);
            const b = loud.decode(piece);
            expect(a.samplesDecoded).toBe(b.samplesDecoded);
            if (b.samplesDecoded > 0) {
              expect(a.sampleRate).toBe(b.sampleRate);
              expect(a.channelData[0]).toEqual(b.channelData[0]);
              expect(a.channelData[1]).toEqual(b.channelData[1]);
            }
            expect(a.errors.map((e) => [e.message, e.inputBytes])).toEqual(b.errors.map((e) => [e.message, e.inputBytes]));
          }
        } finally {
          quiet.free();
          loud.free();
        }
      }
    }
  });
});
