/**
 * G.711 µ-law and A-law companding (ITU-T G.711), as pure functions on
 * 16-bit linear samples. Bit-exact with the reference implementation
 * (Sun Microsystems' g711.c, as used by sox and ffmpeg): µ-law keeps the top
 * 14 bits of a sample, A-law the top 13.
 *
 * ```ts
 * linearToMulaw(-1000) // 0x4e
 * mulawToLinear(0x4e)  // -988
 * ```
 */

/** µ-law code → 16-bit linear sample. */
const MULAW_TO_LINEAR = new Int16Array(256);
/** A-law code → 16-bit linear sample. */
const ALAW_TO_LINEAR = new Int16Array(256);
/** 14-bit sample (sample >> 2, offset by 8192) → µ-law code. */
const LINEAR14_TO_MULAW = new Uint8Array(16384);
/** 13-bit sample (sample >> 3, offset by 4096) → A-law code. */
const LINEAR13_TO_ALAW = new Uint8Array(8192);

// Decoding: a code is sign, 3-bit segment (exponent) and 4-bit mantissa.
for (let code = 0; code < 256; code++) {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 7;
  const magnitude = (((u & 0x0f) << 3) + 0x84) << exponent;
  MULAW_TO_LINEAR[code] = u & 0x80 ? 0x84 - magnitude : magnitude - 0x84;

  const a = code ^ 0x55;
  const segment = (a >> 4) & 7;
  const mantissa = (a & 0x0f) << 4;
  const size = segment === 0 ? mantissa + 8 : (mantissa + 0x108) << (segment - 1);
  ALAW_TO_LINEAR[code] = a & 0x80 ? size : -size;
}

// Encoding: the segment is the position of the highest set bit of the biased magnitude.
for (let i = 0; i < 16384; i++) {
  const value = i - 8192; // a 14-bit sample
  const negative = value < 0;
  const magnitude = Math.min(negative ? -value : value, 8159) + 0x21;
  const segment = 31 - Math.clz32(magnitude) - 5; // 0x21..0x3f → segment 0
  const code = segment >= 8 ? 0x7f : (segment << 4) | ((magnitude >> (segment + 1)) & 0x0f);
  LINEAR14_TO_MULAW[i] = code ^ (negative ? 0x7f : 0xff);
}
for (let i = 0; i < 8192; i++) {
  const value = i - 4096; // a 13-bit sample
  const negative = value < 0;
  const magnitude = negative ? -value - 1 : value;
  const segment = Math.max(0, 31 - Math.clz32(magnitude | 1) - 4); // 0..0x1f → segment 0
  const code = segment >= 8 ? 0x7f : (segment << 4) | ((magnitude >> (segment < 2 ? 1 : segment)) & 0x0f);
  LINEAR13_TO_ALAW[i] = code ^ (negative ? 0x55 : 0xd5);
}

/** 16-bit linear sample (−32768…32767) → µ-law code. */
export function linearToMulaw(sample: number): number {
  return LINEAR14_TO_MULAW[(sample >> 2) + 8192];
}

/** µ-law code (0…255) → 16-bit linear sample. */
export function mulawToLinear(code: number): number {
  return MULAW_TO_LINEAR[code & 0xff];
}

/** 16-bit linear sample (−32768…32767) → A-law code. */
export function linearToAlaw(sample: number): number {
  return LINEAR13_TO_ALAW[(sample >> 3) + 4096];
}

/** A-law code (0…255) → 16-bit linear sample. */
export function alawToLinear(code: number): number {
  return ALAW_TO_LINEAR[code & 0xff];
}

/** The 256-entry decode tables (read-only by convention), for fast bulk decoding. */
export const mulawTable: Readonly<Int16Array> = MULAW_TO_LINEAR;
export const alawTable: Readonly<Int16Array> = ALAW_TO_LINEAR;
