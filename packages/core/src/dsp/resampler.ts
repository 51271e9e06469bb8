// A streaming band-limited resampler without streams: plain ES and typed
// arrays, so the same object runs in Node, browsers and an AudioWorklet.
import { VoxpipeError } from '../errors.js';
import { designPolyphase, type LowpassSpec, type PolyphaseKernel } from './polyphase.js';
import { simdKernel, type SimdKernel, type SimdPrecision } from './simd.js';

export type ResampleQuality = 'high' | 'medium' | 'fast';

/**
 * The filter behind each quality, edges as fractions of the lower Nyquist
 * (the output's when downsampling, the input's when upsampling).
 *
 * Passband: flat to 0.9 (Kaiser's ripple δ = the stopband level, so within
 * 1e-6 dB for `high`). Stopband: from 1.05 up. Where should the stopband
 * start? Input between 1.0 and the stopband edge folds back to
 * 2 − f, i.e. into 0.95…1.0 of Nyquist — above the 0.9 we promise flat, so
 * letting the transition run past Nyquist is allowed and cuts the filter
 * length by a third against a 0.9…1.0 transition. It stops at 1.05 rather than 1.1 so
 * anything folding below 0.95 (e.g. 13 kHz → 11 kHz at 24 kHz, 1.083) is
 * fully rejected. Lengths come from Kaiser's formula: high ≈ 109, medium ≈ 81,
 * fast ≈ 58 taps at the lower rate.
 */
export const RESAMPLE_QUALITY: Readonly<Record<ResampleQuality, Readonly<LowpassSpec>>> = Object.freeze({
  high: Object.freeze({ attenuation: 125, passband: 0.9, stopband: 1.05 }),
  medium: Object.freeze({ attenuation: 95, passband: 0.9, stopband: 1.05 }),
  fast: Object.freeze({ attenuation: 70, passband: 0.9, stopband: 1.05 }),
});

/** Lowest and highest sample rates `createResampler` accepts. */
export const MIN_RATE = 1000;
export const MAX_RATE = 384000;

/** How the dot products run. */
export interface ResamplerOptions {
  /**
   * `f32` (default): WebAssembly SIMD, float32 multiply-accumulate, 8 taps a
   * step. `f64`: WebAssembly SIMD with float64 accumulation, bit-identical to
   * the plain-JS loop (about 1.6× slower than `f32`; the two differ by about
   * 2e-7, −130 dB). `js`: the plain-JS float64 loop, which is also what runs
   * wherever WebAssembly SIMD is unavailable. Every engine gives the same
   * output for any chunking of the input.
   */
  engine?: SimdPrecision | 'js';
}

/** A resampler for one stream of planar float PCM. */
export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  readonly channels: number;
  readonly quality: ResampleQuality;
  /** What computes the dot products: `f64` or `f32` WebAssembly SIMD, or `js`. */
  readonly engine: SimdPrecision | 'js';
  /** Input frames held back while streaming (the filter's look-ahead); `flush` releases them. */
  readonly latency: number;
  /**
   * Takes the next input frames (one array per channel, equal lengths) and
   * returns every output frame that can be computed so far. The arrays
   * returned are new and owned by the caller.
   */
  process(input: readonly Float32Array[]): Float32Array[];
  /** Ends the stream: returns the tail so the total is round(inputFrames × to / from), then resets. */
  flush(): Float32Array[];
  /** Forgets everything, ready for a new stream. */
  reset(): void;
}

/**
 * Makes a streaming resampler from `fromRate` to `toRate` (any integers in
 * 1000…384000). Use it where there are no streams, e.g. inside an
 * AudioWorkletProcessor; the `resample` stage wraps it.
 *
 * ```ts
 * const r = createResampler(48000, 24000, 1, 'high');
 * const out = [...r.process([input])[0], ...r.flush()[0]];
 * ```
 *
 * Output sample j is the band-limited input evaluated at time j × from / to
 * (no delay, no leading silence), each from the same input window in the same
 * order, so the output does not depend on how the input was chunked.
 */
export function createResampler(
  fromRate: number,
  toRate: number,
  channels: number,
  quality: ResampleQuality = 'high',
  options: ResamplerOptions = {},
): Resampler {
  for (const [name, rate] of [
    ['fromRate', fromRate],
    ['toRate', toRate],
  ] as const) {
    if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) {
      throw new VoxpipeError('bad-request', `resample: ${name} must be an integer from ${MIN_RATE} to ${MAX_RATE} Hz, got ${rate}`, { stage: 'resample' });
    }
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 32) {
    throw new VoxpipeError('bad-request', `resample: channels must be an integer from 1 to 32, got ${channels}`, { stage: 'resample' });
  }
  const spec = RESAMPLE_QUALITY[quality];
  if (!spec) throw new VoxpipeError('bad-request', `resample: quality must be high, medium or fast, got ${String(quality)}`, { stage: 'resample' });
  if (fromRate === toRate) return new Passthrough(fromRate, channels, quality);
  const kernel = cachedKernel(fromRate, toRate, quality, spec);
  const precision = options.engine ?? 'f32';
  const simd = precision !== 'js' && kernel.exact ? simdKernel(precision) : undefined;
  return new PolyphaseResampler(fromRate, toRate, channels, quality, kernel, simd && new SimdRunner(simd, precision as SimdPrecision, kernel));
}

/** Recent designs, so a server making one resampler per request designs each ratio once. */
const designs = new Map<string, PolyphaseKernel>();
const DESIGNS_KEPT = 16;

function cachedKernel(fromRate: number, toRate: number, quality: ResampleQuality, spec: LowpassSpec): PolyphaseKernel {
  const key = `${fromRate}:${toRate}:${quality}`;
  let kernel = designs.get(key);
  if (kernel) {
    designs.delete(key); // re-insert: most recently used last
  } else {
    kernel = designPolyphase(fromRate, toRate, spec);
    if (designs.size >= DESIGNS_KEPT) designs.delete(designs.keys().next().value!);
  }
  designs.set(key, kernel);
  return kernel;
}

function checkInput(input: readonly Float32Array[], channels: number): number {
  if (input.length !== channels) {
    throw new VoxpipeError('format', `resample: expected ${channels} channel(s), got ${input.length}`, { stage: 'resample' });
  }
  const frames = input[0].length;
  for (const samples of input) {
    if (samples.length !== frames) throw new VoxpipeError('format', 'resample: channels differ in length', { stage: 'resample' });
  }
  return frames;
}

class Passthrough implements Resampler {
  readonly latency = 0;
  readonly engine = 'js';
  readonly fromRate: number;
  readonly toRate: number;
  constructor(
    rate: number,
    readonly channels: number,
    readonly quality: ResampleQuality,
  ) {
    this.fromRate = rate;
    this.toRate = rate;
  }
  process(input: readonly Float32Array[]): Float32Array[] {
    checkInput(input, this.channels);
    return input.map((samples) => samples.slice());
  }
  flush(): Float32Array[] {
    return Array.from({ length: this.channels }, () => new Float32Array(0));
  }
  reset(): void {}
}

class PolyphaseResampler implements Resampler {
  readonly latency: number;
  private readonly up: number;
  private readonly down: number;
  private readonly stepWhole: number;
  private readonly stepPhase: number;
  private readonly taps: number;
  private readonly history: Float32Array[] = [];
  /** Absolute input index of history[c][0] (negative while the leading zeros are held). */
  private historyStart = 0;
  private historyLength = 0;
  private inputFrames = 0;
  private outputFrames = 0;
  /** The next output's time is base + phase / up, in input samples. */
  private base = 0;
  private phase = 0;
  private starts = new Int32Array(64);
  private rows = new Int32Array(64);
  private blends = new Float64Array(64);
  readonly engine: SimdPrecision | 'js';

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
    readonly channels: number,
    readonly quality: ResampleQuality,
    private readonly kernel: PolyphaseKernel,
    private readonly simd: SimdRunner | undefined,
  ) {
    this.engine = simd ? simd.precision : 'js';
    this.up = kernel.up;
    this.down = kernel.down;
    this.stepWhole = Math.floor(kernel.down / kernel.up);
    this.stepPhase = kernel.down % kernel.up;
    this.taps = kernel.taps;
    this.latency = kernel.taps - kernel.half + 1;
    for (let c = 0; c < channels; c++) this.history.push(new Float32Array(Math.max(1024, 2 * kernel.taps)));
    this.reset();
  }

  reset(): void {
    // The window of output 0 starts at input 1 − half: hold half − 1 zeros before input 0.
    const lead = this.kernel.half - 1;
    for (const h of this.history) h.fill(0, 0, lead);
    this.historyStart = -lead;
    this.historyLength = lead;
    this.inputFrames = 0;
    this.outputFrames = 0;
    this.base = 0;
    this.phase = 0;
  }

  process(input: readonly Float32Array[]): Float32Array[] {
    const frames = checkInput(input, this.channels);
    this.append(input, frames);
    return this.produce(Number.POSITIVE_INFINITY);
  }

  flush(): Float32Array[] {
    const total = Number((BigInt(this.inputFrames) * BigInt(2 * this.up) + BigInt(this.down)) / BigInt(2 * this.down));
    const zeros = new Float32Array(this.taps);
    this.append(
      this.history.map(() => zeros),
      zeros.length,
    );
    const out = this.produce(total);
    this.reset();
    return out;
  }

  private append(input: readonly Float32Array[], frames: number): void {
    if (frames === 0) return;
    const needed = this.historyLength + frames;
    if (needed > this.history[0].length) {
      // Drop what no future output reads, then grow if that is not enough.
      const drop = Math.max(0, this.base - this.kernel.half + 1 - this.historyStart);
      const keep = this.historyLength - drop;
      const capacity = keep + frames > this.history[0].length ? Math.max(2 * this.history[0].length, keep + frames) : this.history[0].length;
      for (let c = 0; c < this.channels; c++) {
        const old = this.history[c];
        if (capacity !== old.length) {
          const grown = new Float32Array(capacity);
          grown.set(old.subarray(drop, this.historyLength));
          this.history[c] = grown;
        } else {
          old.copyWithin(0, drop, this.historyLength);
        }
      }
      this.historyStart += drop;
      this.historyLength = keep;
    }
    for (let c = 0; c < this.channels; c++) this.history[c].set(input[c], this.historyLength);
    this.historyLength += frames;
    this.inputFrames += frames;
  }

  /** Computes every output whose window is in the history, up to `limit` outputs in total. */
  private produce(limit: number): Float32Array[] {
    const { up, taps, stepWhole, stepPhase } = this;
    const { half, rows: tableRows, exact } = this.kernel;
    const end = this.historyStart + this.historyLength; // absolute index one past the last input held
    let count = 0;
    let base = this.base;
    let phase = this.phase;
    while (this.outputFrames + count < limit && base - half + 1 + taps <= end) {
      if (count === this.starts.length) this.growSchedule();
      this.starts[count] = base - half + 1 - this.historyStart;
      if (exact) {
        this.rows[count] = phase * taps;
      } else {
        const position = (phase * tableRows) / up;
        const row = Math.floor(position);
        this.rows[count] = row * taps;
        this.blends[count] = position - row;
      }
      count++;
      base += stepWhole;
      phase += stepPhase;
      if (phase >= up) {
        phase -= up;
        base++;
      }
    }
    this.base = base;
    this.phase = phase;
    this.outputFrames += count;
    const out: Float32Array[] = [];
    if (this.simd && count > 0) this.simd.schedule(this.starts, this.rows, count, taps);
    for (let c = 0; c < this.channels; c++) {
      if (this.simd && count > 0) {
        out.push(this.simd.convolve(this.history[c]));
        continue;
      }
      const samples = new Float32Array(count);
      if (exact) this.convolve(this.history[c], samples, count);
      else this.convolveBlended(this.history[c], samples, count);
      out.push(samples);
    }
    return out;
  }

  private growSchedule(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    starts.set(this.starts);
    const rows = new Int32Array(size);
    rows.set(this.rows);
    const blends = new Float64Array(size);
    blends.set(this.blends);
    this.starts = starts;
    this.rows = rows;
    this.blends = blends;
  }

  private convolve(h: Float32Array, out: Float32Array, count: number): void {
    const table = this.kernel.table;
    const taps = this.taps;
    const starts = this.starts;
    const rows = this.rows;
    for (let k = 0; k < count; k++) {
      const s = starts[k];
      const r = rows[k];
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let i = 0; i < taps; i += 4) {
        a0 += table[r + i] * h[s + i];
        a1 += table[r + i + 1] * h[s + i + 1];
        a2 += table[r + i + 2] * h[s + i + 2];
        a3 += table[r + i + 3] * h[s + i + 3];
      }
      out[k] = a0 + a1 + (a2 + a3);
    }
  }

  private convolveBlended(h: Float32Array, out: Float32Array, count: number): void {
    const table = this.kernel.table;
    const taps = this.taps;
    const starts = this.starts;
    const rows = this.rows;
    const blends = this.blends;
    for (let k = 0; k < count; k++) {
      const s = starts[k];
      const r = rows[k];
      const q = r + taps;
      let a0 = 0;
      let a1 = 0;
      let b0 = 0;
      let b1 = 0;
      for (let i = 0; i < taps; i += 2) {
        const x0 = h[s + i];
        const x1 = h[s + i + 1];
        a0 += table[r + i] * x0;
        a1 += table[r + i + 1] * x1;
        b0 += table[q + i] * x0;
        b1 += table[q + i + 1] * x1;
      }
      const a = a0 + a1;
      out[k] = a + blends[k] * (b0 + b1 - a);
    }
  }
}

/**
 * Runs the exact-table dot products in a WebAssembly SIMD instance. Memory:
 * the table, then per call the schedule, the history window and the output.
 */
class SimdRunner {
  private readonly bytes: number;
  private readonly tableBytes: number;
  private first = 0;
  private span = 0;
  private count = 0;
  private tapBytes = 0;
  private startsAt = 0;
  private rowsAt = 0;
  private historyAt = 0;
  private outAt = 0;

  constructor(
    private readonly kernel: SimdKernel,
    readonly precision: SimdPrecision,
    polyphase: PolyphaseKernel,
  ) {
    this.bytes = precision === 'f32' ? 4 : 8;
    this.tableBytes = polyphase.table.length * this.bytes;
    this.reserve(this.tableBytes);
    const Table = precision === 'f32' ? Float32Array : Float64Array;
    new Table(kernel.memory.buffer, 0, polyphase.table.length).set(polyphase.table);
  }

  private reserve(bytes: number): void {
    const memory = this.kernel.memory;
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  }

  /** Lays out this call's schedule: starts become relative to the copied history window. */
  schedule(starts: Int32Array, rows: Int32Array, count: number, taps: number): void {
    const first = starts[0];
    const span = starts[count - 1] - first + taps;
    this.first = first;
    this.span = span;
    this.count = count;
    this.tapBytes = taps * this.bytes;
    this.startsAt = this.tableBytes;
    this.rowsAt = this.startsAt + 4 * count;
    this.historyAt = this.rowsAt + 4 * count;
    this.historyAt = Math.ceil(this.historyAt / 16) * 16;
    this.outAt = this.historyAt + span * this.bytes;
    this.reserve(this.outAt + 4 * count);
    const buffer = this.kernel.memory.buffer;
    const s = new Int32Array(buffer, this.startsAt, count);
    for (let k = 0; k < count; k++) s[k] = starts[k] - first;
    new Int32Array(buffer, this.rowsAt, count).set(rows.subarray(0, count));
  }

  /** The outputs of the scheduled call for one channel's history. */
  convolve(history: Float32Array): Float32Array {
    const buffer = this.kernel.memory.buffer;
    const window = history.subarray(this.first, this.first + this.span);
    if (this.bytes === 4) new Float32Array(buffer, this.historyAt, this.span).set(window);
    else new Float64Array(buffer, this.historyAt, this.span).set(window);
    this.kernel.convolve(0, this.historyAt, this.startsAt, this.rowsAt, this.outAt, this.count, this.tapBytes);
    return new Float32Array(buffer, this.outAt, this.count).slice();
  }
}
