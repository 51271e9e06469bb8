// A WebAssembly SIMD dot-product kernel for the polyphase resampler, written
// as bytes so it needs no toolchain and no fetch: the module is well under a
// kilobyte and compiles synchronously, also inside an AudioWorklet. Where
// WebAssembly or SIMD is missing (or a CSP forbids it) `simdKernel()`
// returns undefined and the resampler uses its plain-JS loop.
//
// convolve(table, history, phases, count, out, tapBytes, up, downBytes, record)
// computes `count` consecutive outputs and walks the schedule itself: output
// k reads the table row at `i32(record)` bytes from `table` and the history
// from `history` on, then history += i32(record + 4) and record = phases +
// i32(record + 8) (the next phase's record). Outputs k, k + up, k + 2·up …
// share a row (their windows are `downBytes` apart), so runs of 4·up outputs
// are computed in groups of four that load each row once for all four, then
// runs of 2·up in pairs, and the rest one by one.
//
// Each output's arithmetic is the same in a group or alone. Variant 'f64'
// keeps float64 taps, history and accumulators in the same lane order as the
// JS loop (four partial sums, a0 + a1 + (a2 + a3)), so its output is
// bit-identical to it; variant 'f32' multiplies and accumulates in float32
// (8 taps per step), faster and about 1e-7 less precise.

export type SimdPrecision = 'f32' | 'f64';

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const GET = 0x20;
const SET = 0x21;
const TEE = 0x22;
const SIMD = 0xfd;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_SHL = 0x74;
const I32_LT_U = 0x49;
const I32_EQZ = 0x45;
const I32_LOAD = (offset: number) => [0x28, 0x02, ...uleb(offset)];
const F32_STORE = [0x38, 0x02, 0x00];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;

// params: 0 table, 1 history, 2 phases, 3 count, 4 out, 5 tapBytes, 6 up, 7 downBytes, 8 record
const TABLE = 0;
const HISTORY = 1;
const PHASES = 2;
const COUNT = 3;
const OUT = 4;
const TAP_BYTES = 5;
const UP = 6;
const DOWN_BYTES = 7;
const RECORD = 8;
// i32 locals
const J = 9;
const ROW = 10;
const I = 11;
/** The windows of the 2nd…4th output of a group (the 1st is HISTORY). */
const WINDOWS = [HISTORY, 12, 13, 14];
const UP_BYTES = 15;
// v128 locals: two accumulators per output of a group of up to four, and a temporary
const ACC = (output: number, half: number) => 16 + 2 * output + half;
const T = 24;
/** Outputs per group, largest first: groups of 4, then 2, share each row load. */
const GROUPS = [4, 2];

function body(precision: SimdPrecision): number[] {
  const add = precision === 'f32' ? [SIMD, 0xe4, 0x01] : [SIMD, 0xf0, 0x01];
  const mul = precision === 'f32' ? [SIMD, 0xe6, 0x01] : [SIMD, 0xf2, 0x01];
  const load = (offset: number) => [SIMD, 0x00, 0x02, ...uleb(offset)];
  const zero = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];
  const at = (base: number) => [GET, base, GET, I, I32_ADD];
  /** The sum of two accumulators as the f32 output, in the lane order of the JS loop. */
  const sum = (x: number, y: number) =>
    precision === 'f32'
      ? // ((l0 + l1) + (l2 + l3)) of x + y
        [GET, x, GET, y, ...add, TEE, T, SIMD, 0x1f, 0, GET, T, SIMD, 0x1f, 1, 0x92, GET, T, SIMD, 0x1f, 2, GET, T, SIMD, 0x1f, 3, 0x92, 0x92]
      : // (x.l0 + x.l1) + (y.l0 + y.l1), demoted to f32
        [GET, x, SIMD, 0x21, 0, GET, x, SIMD, 0x21, 1, 0xa0, GET, y, SIMD, 0x21, 0, GET, y, SIMD, 0x21, 1, 0xa0, 0xa0, 0xb6];
  /** row = table + i32(record) */
  const row = [GET, TABLE, GET, RECORD, ...I32_LOAD(0), I32_ADD, SET, ROW];
  /** history += i32(record + 4); record = phases + i32(record + 8); out += 4 */
  const next = [
    GET, HISTORY, GET, RECORD, ...I32_LOAD(4), I32_ADD, SET, HISTORY,
    GET, PHASES, GET, RECORD, ...I32_LOAD(8), I32_ADD, SET, RECORD,
    GET, OUT, I32_CONST, 4, I32_ADD, SET, OUT,
  ];
  /**
   * `n` outputs on one row, windows `downBytes` apart from history on, stored
   * `up` outputs apart from out on. Output m sums into ACC(m, 0) (taps 0–3 of
   * each 8, or 0–1 of each 4 in f64) and ACC(m, 1).
   */
  const group = (n: number) => {
    const code: number[] = [];
    for (let m = 1; m < n; m++) code.push(GET, WINDOWS[m - 1], GET, DOWN_BYTES, I32_ADD, SET, WINDOWS[m]);
    for (let m = 0; m < n; m++) code.push(...zero, SET, ACC(m, 0), ...zero, SET, ACC(m, 1));
    code.push(I32_CONST, 0, SET, I, ...LOOP);
    for (const half of [0, 1]) {
      code.push(...at(ROW), ...load(16 * half), SET, T);
      for (let m = 0; m < n; m++) code.push(GET, T, ...at(WINDOWS[m]), ...load(16 * half), ...mul, GET, ACC(m, half), ...add, SET, ACC(m, half));
    }
    code.push(GET, I, I32_CONST, 32, I32_ADD, TEE, I, GET, TAP_BYTES, I32_LT_U, BR_IF, 0, END);
    for (let m = 0; m < n; m++) {
      code.push(GET, OUT);
      if (m > 0) code.push(GET, UP_BYTES, ...(m > 1 ? [I32_CONST, m, I32_MUL] : []), I32_ADD); // out + m·up·4
      code.push(...sum(ACC(m, 0), ACC(m, 1)), ...F32_STORE);
    }
    return code;
  };
  /** Whole runs of n periods (n·up outputs), output k grouped with k + up, k + 2·up … */
  const periods = (n: number) => [
    ...BLOCK,
    ...LOOP,
    GET, COUNT, GET, UP, I32_CONST, n, I32_MUL, I32_LT_U, BR_IF, 1, // fewer than n·up left
    GET, UP, SET, J,
    ...LOOP,
    ...row, ...group(n), ...next,
    GET, J, I32_CONST, 1, I32_SUB, TEE, J, BR_IF, 0,
    END,
    // Skip the periods after the first, computed above.
    GET, HISTORY, GET, DOWN_BYTES, I32_CONST, n - 1, I32_MUL, I32_ADD, SET, HISTORY,
    GET, OUT, GET, UP_BYTES, I32_CONST, n - 1, I32_MUL, I32_ADD, SET, OUT,
    GET, COUNT, GET, UP, I32_CONST, n, I32_MUL, I32_SUB, SET, COUNT,
    BR, 0,
    END,
    END,
  ];
  const code = [
    GET, UP, I32_CONST, 2, I32_SHL, SET, UP_BYTES,
    ...GROUPS.flatMap(periods),
    // The rest one by one.
    ...BLOCK,
    GET, COUNT, I32_EQZ, BR_IF, 0,
    ...LOOP,
    ...row, ...group(1), ...next,
    GET, COUNT, I32_CONST, 1, I32_SUB, TEE, COUNT, BR_IF, 0,
    END,
    END,
    END, // end function
  ];
  const locals = [0x02, 0x07, 0x7f, 0x09, 0x7b];
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

function moduleBytes(precision: SimdPrecision): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 9, ...new Array<number>(9).fill(0x7f), 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('convolve'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...body(precision)]),
  ]);
}

export interface SimdKernel {
  /** The kernel's linear memory (a `WebAssembly.Memory`). */
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly convolve: (
    table: number,
    history: number,
    phases: number,
    count: number,
    out: number,
    tapBytes: number,
    up: number,
    downBytes: number,
    record: number,
  ) => void;
}

const modules = new Map<SimdPrecision, WebAssembly.Module | null>();

/** A fresh instance (own memory) of the kernel, or undefined where WebAssembly SIMD is unavailable. */
export function simdKernel(precision: SimdPrecision): SimdKernel | undefined {
  let module = modules.get(precision);
  if (module === undefined) {
    module = null;
    try {
      const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
      const bytes = moduleBytes(precision);
      if (wasm && wasm.validate(bytes)) module = new wasm.Module(bytes);
    } catch {
      module = null;
    }
    modules.set(precision, module);
  }
  if (module === null) return undefined;
  const instance = new WebAssembly.Instance(module, {});
  const exports = instance.exports as unknown as SimdKernel;
  return { memory: exports.memory, convolve: exports.convolve };
}
