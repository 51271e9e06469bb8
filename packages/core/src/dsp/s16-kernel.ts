// A WebAssembly SIMD kernel that turns float samples into s16, written as
// bytes like the resampler's (no toolchain, no fetch, compiles synchronously).
// Each sample x becomes trunc_sat(floor(f32(x · 32768) + 0.5)) narrowed with
// saturation to 16 bits: the scale is exact (a power of two), the + 0.5 is
// exact wherever it could move the floor, trunc_sat gives 0 for NaN and the
// narrowing clips to [−32768, 32767] — the same integer as pcmEncode's JS
// rounding (ties upwards) for every float32, NaN and ±Infinity included.
//
// mono(src, out, groups):           8 samples a group, src f32 → out s16
// stereo(left, right, out, groups): 8 frames a group, interleaved L R L R …
import { section, uleb } from './simd.js';

const GET = 0x20;
const SET = 0x21;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_EQZ = 0x45;
const SIMD = 0xfd;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;

const load = (offset: number) => [SIMD, 0x00, 0x04, ...uleb(offset)];
const store = (offset: number) => [SIMD, 0x0b, 0x04, ...uleb(offset)];
const f32x4 = (value: number) => [SIMD, 0x0c, ...new Uint8Array(new Float32Array([value, value, value, value]).buffer)];
const shuffle = (lanes: number[]) => [SIMD, 0x0d, ...lanes];
const MUL = [SIMD, 0xe6, 0x01];
const ADD = [SIMD, 0xe4, 0x01];
const FLOOR = [SIMD, 0x68];
const TRUNC_SAT = [SIMD, 0xf8, 0x01];
const NARROW = [SIMD, 0x85, 0x01];

/** Four floats at `base` + `offset` as four rounded i32. */
const convert = (base: number, offset: number) => [GET, base, ...load(offset), ...f32x4(32768), ...MUL, ...f32x4(0.5), ...ADD, ...FLOOR, ...TRUNC_SAT];
/** Eight floats at `base` as eight s16 in one v128. */
const eight = (base: number) => [...convert(base, 0), ...convert(base, 16), ...NARROW];
/** Byte lanes of the first (then second) four frames of two i16x8, interleaved. */
const LOW = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
const HIGH = LOW.map((lane) => lane + 8);
const step = (local: number, bytes: number) => [GET, local, I32_CONST, ...uleb(bytes), I32_ADD, SET, local];

/** A loop over `groups` (param `count`) running `work` on each. */
function loop(count: number, work: number[]): number[] {
  return [...BLOCK, ...LOOP, GET, count, I32_EQZ, BR_IF, 1, ...work, GET, count, I32_CONST, 1, I32_SUB, SET, count, BR, 0, END, END];
}

// mono: 0 src, 1 out, 2 groups
const mono = [0, ...loop(2, [GET, 1, ...eight(0), ...store(0), ...step(0, 32), ...step(1, 16)]), END];
// stereo: 0 left, 1 right, 2 out, 3 groups; v128 locals 4 (left), 5 (right)
const stereo = [
  1, 2, 0x7b,
  ...loop(3, [...eight(0), SET, 4, ...eight(1), SET, 5, GET, 2, GET, 4, GET, 5, ...shuffle(LOW), ...store(0), GET, 2, GET, 4, GET, 5, ...shuffle(HIGH), ...store(16), ...step(0, 32), ...step(1, 32), ...step(2, 32)]),
  END,
];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const code = (fn: number[]) => [...uleb(fn.length), ...fn];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 3, 0x7f, 0x7f, 0x7f, 0, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(3, [2, 0, 1]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [3, ...name('mono'), 0x00, 0, ...name('stereo'), 0x00, 1, ...name('memory'), 0x02, 0]),
    ...section(10, [2, ...code(mono), ...code(stereo)]),
  ]);
}

/** Frames per call: inputs and output of a block fit in the kernel's one 64 KiB page. */
export const S16_BLOCK = 4096;

export interface S16Kernel {
  /** Float inputs: channel c's samples at `input[c]` (S16_BLOCK of them, any multiple of 8 read). */
  readonly input: readonly Float32Array[];
  /** The s16 output as little-endian bytes, interleaved (2 · S16_BLOCK samples). */
  readonly output: Uint8Array;
  /** Converts `frames` frames (rounded up to 8) of one or two channels from `input` into `output`. */
  convert(channels: 1 | 2, frames: number): void;
}

let kernel: S16Kernel | null | undefined;

/** The shared kernel, or undefined where WebAssembly SIMD is unavailable (then pcmEncode converts in JS). */
export function s16Kernel(): S16Kernel | undefined {
  if (kernel === undefined) kernel = makeKernel();
  return kernel ?? undefined;
}

function makeKernel(): S16Kernel | null {
  try {
    const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
    const bytes = moduleBytes();
    if (!wasm || !wasm.validate(bytes)) return null;
    const exports = new wasm.Instance(new wasm.Module(bytes), {}).exports as unknown as {
      memory: { buffer: ArrayBuffer };
      mono(src: number, out: number, groups: number): void;
      stereo(left: number, right: number, out: number, groups: number): void;
    };
    const { buffer } = exports.memory; // one page, never grown
    const channelBytes = S16_BLOCK * 4;
    const input = [new Float32Array(buffer, 0, S16_BLOCK), new Float32Array(buffer, channelBytes, S16_BLOCK)];
    const output = new Uint8Array(buffer, 2 * channelBytes, 4 * S16_BLOCK);
    return {
      input,
      output,
      convert(channels, frames) {
        const groups = (frames + 7) >>> 3;
        if (channels === 1) exports.mono(0, 2 * channelBytes, groups);
        else exports.stereo(0, channelBytes, 2 * channelBytes, groups);
      },
    };
  } catch {
    return null;
  }
}
