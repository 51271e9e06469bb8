// A WebAssembly SIMD dot-product kernel for the polyphase resampler, written
// as bytes so it needs no toolchain and no fetch: the module is ~200 bytes and
// compiles synchronously, also inside an AudioWorklet. Where WebAssembly or
// SIMD is missing (or a CSP forbids it) `simdKernel()` returns undefined and
// the resampler uses its plain-JS loop.
//
// convolve(table, history, starts, rows, out, count, tapBytes) computes, for
// k < count: out[k] = Σ_i table[rows[k] + i] · history[starts[k] + i] over the
// taps. Variant 'f64' keeps float64 taps, history and accumulators in the same
// lane order as the JS loop (four partial sums, a0 + a1 + (a2 + a3)), so its
// output is bit-identical to it; variant 'f32' multiplies and accumulates in
// float32 (8 taps per step), faster and about 1e-7 less precise.

export type SimdPrecision = 'f32' | 'f64';

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const GET = 0x20;
const SET = 0x21;
const TEE = 0x22;
const SIMD = 0xfd;
// locals: 0 table, 1 history, 2 starts, 3 rows, 4 out, 5 count, 6 tapBytes, 7 k, 8 s, 9 r, 10 i, 11 acc0, 12 acc1
const K = 7;
const S = 8;
const R = 9;
const I = 10;
const A0 = 11;
const A1 = 12;

function body(precision: SimdPrecision): number[] {
  const size = precision === 'f32' ? 2 : 3; // log2 bytes per sample
  const add = precision === 'f32' ? [SIMD, 0xe4, 0x01] : [SIMD, 0xf0, 0x01];
  const mul = precision === 'f32' ? [SIMD, 0xe6, 0x01] : [SIMD, 0xf2, 0x01];
  const load = (offset: number) => [SIMD, 0x00, 0x02, offset];
  const address = (base: number, index: number) => [GET, base, GET, index, 0x6a];
  /** base + i32.load(list + k·4) << size */
  const pointer = (base: number, list: number) => [GET, base, GET, list, GET, K, 0x41, 2, 0x74, 0x6a, 0x28, 0x02, 0x00, 0x41, size, 0x74, 0x6a];
  const zero = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];
  const step = (acc: number, offset: number) => [GET, acc, ...address(R, I), ...load(offset), ...address(S, I), ...load(offset), ...mul, ...add, SET, acc];
  const sum =
    precision === 'f32'
      ? // ((l0 + l1) + (l2 + l3)) of acc0 + acc1
        [GET, A0, GET, A1, ...add, TEE, A0, SIMD, 0x1f, 0, GET, A0, SIMD, 0x1f, 1, 0x92, GET, A0, SIMD, 0x1f, 2, GET, A0, SIMD, 0x1f, 3, 0x92, 0x92]
      : // (acc0.l0 + acc0.l1) + (acc1.l0 + acc1.l1), demoted to f32
        [GET, A0, SIMD, 0x21, 0, GET, A0, SIMD, 0x21, 1, 0xa0, GET, A1, SIMD, 0x21, 0, GET, A1, SIMD, 0x21, 1, 0xa0, 0xa0, 0xb6];
  const code = [
    0x02, 0x40, // block
    GET, 5, 0x45, 0x0d, 0, // if count == 0 break
    0x41, 0, SET, K,
    0x03, 0x40, // loop over outputs
    ...pointer(1, 2), SET, S,
    ...pointer(0, 3), SET, R,
    ...zero, SET, A0,
    ...zero, SET, A1,
    0x41, 0, SET, I,
    0x03, 0x40, // loop over taps, 32 bytes a step
    ...step(A0, 0),
    ...step(A1, 16),
    GET, I, 0x41, 32, 0x6a, TEE, I, GET, 6, 0x49, 0x0d, 0,
    0x0b,
    GET, 4, GET, K, 0x41, 2, 0x74, 0x6a, ...sum, 0x38, 0x02, 0x00, // out[k] = sum
    GET, K, 0x41, 1, 0x6a, TEE, K, GET, 5, 0x49, 0x0d, 0,
    0x0b,
    0x0b,
    0x0b, // end function
  ];
  const locals = [0x02, 0x04, 0x7f, 0x02, 0x7b];
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

function moduleBytes(precision: SimdPrecision): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 7, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('convolve'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...body(precision)]),
  ]);
}

export interface SimdKernel {
  /** The kernel's linear memory (a `WebAssembly.Memory`). */
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly convolve: (table: number, history: number, starts: number, rows: number, out: number, count: number, tapBytes: number) => void;
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
