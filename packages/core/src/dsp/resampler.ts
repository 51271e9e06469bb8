// A streaming band-limited resampler without streams: plain ES and typed
// arrays, so the same object runs in Node, browsers and an AudioWorklet.
import { VoxpipeError } from '../errors.js';
import { designPolyphase, type LowpassDesign, type PolyphaseKernel } from './polyphase.js';
import { simdKernel, type SimdKernel, type SimdPrecision } from './simd.js';

export type ResampleQuality = 'high' | 'medium' | 'fast';

/**
 * What a quality promises, for every tone and every pair of rates. Edges are
 * fractions of the lower Nyquist: the output's when downsampling (where
 * aliases fold back), the input's when upsampling (where images appear).
 */
export interface ResampleSpec {
  /** Passband edge: tones up to here come out within ±`ripple` dB. */
  readonly passband: number;
  /** Passband flatness, ± dB. */
  readonly ripple: number;
  /** Stopband edge: always 1, the Nyquist itself, so nothing that would fold back or image is let through. */
  readonly stopband: number;
  /** Attenuation from the stopband edge up, dB: every alias and image is at least this far below its tone. */
  readonly attenuation: number;
}

/**
 * The promise of each quality (checked over a sweep of tones, 50 Hz apart
 * about the Nyquist, for 48→24, 44.1→24, 48→16, 24→48, 22.05→24, 44.1→48
 * and 24→8 kHz, by the resampler's test and its benchmark):
 *
 * | quality | passband | stopband from | attenuation | ripple |
 * |---|---|---|---|---|
 * | `high` | 0.9 × Nyquist | Nyquist | 120 dB | ±0.01 dB |
 * | `medium` | 0.9 × Nyquist | Nyquist | 90 dB | ±0.01 dB |
 * | `fast` | 0.8 × Nyquist | Nyquist | 70 dB | ±0.01 dB |
 *
 * The transition band lies wholly below Nyquist: a tone just above it (say
 * 12.05 kHz going to 24 kHz) would fold to just below it, inside the band
 * we keep, so it has to be gone already. At 24 kHz `high` is flat to
 * 10.8 kHz and rejects everything from 12 kHz.
 */
export const RESAMPLE_QUALITY: Readonly<Record<ResampleQuality, ResampleSpec>> = Object.freeze({
  high: Object.freeze({ passband: 0.9, ripple: 0.01, stopband: 1, attenuation: 120 }),
  medium: Object.freeze({ passband: 0.9, ripple: 0.01, stopband: 1, attenuation: 90 }),
  fast: Object.freeze({ passband: 0.8, ripple: 0.01, stopband: 1, attenuation: 70 }),
});

/**
 * The filters that keep those promises: Kaiser-windowed sincs, lengths in
 * taps at the lower rate (2 × halfWidth). The cutoff sits a little below the
 * middle of the transition band, which spends the passband's loose ripple
 * allowance (±0.01 dB, where a window design would give ±1e-5) to shorten
 * the filter by a tenth; β, cutoff and length were searched for the
 * shortest filter whose computed response keeps each spec with 1–3 dB to
 * spare (the sweep measures 3.5–4.4 dB). `high` is 146 taps (296 per output
 * at 48 → 24 kHz, rounded up to a multiple of 8), `medium` 118, `fast` 46.
 */
const FILTERS: Readonly<Record<ResampleQuality, LowpassDesign>> = Object.freeze({
  high: Object.freeze({ beta: 12.6, cutoff: 0.945, halfWidth: 73 }),
  medium: Object.freeze({ beta: 9.3, cutoff: 0.945, halfWidth: 59 }),
  fast: Object.freeze({ beta: 7.2, cutoff: 0.9, halfWidth: 23 }),
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
  const design = Object.hasOwn(FILTERS, quality) ? FILTERS[quality] : undefined;
  if (!design) throw new VoxpipeError('bad-request', `resample: quality must be high, medium or fast, got ${String(quality)}`, { stage: 'resample' });
  if (fromRate === toRate) return new Passthrough(fromRate, channels, quality);
  const kernel = cachedKernel(fromRate, toRate, quality, design);
  const precision = options.engine ?? 'f32';
  const simd = precision !== 'js' && kernel.exact ? simdKernel(precision) : undefined;
  return new PolyphaseResampler(fromRate, toRate, channels, quality, kernel, simd && new SimdRunner(simd, precision as SimdPrecision, kernel));
}

/** Recent designs, so a server making one resampler per request designs each ratio once. */
const designs = new Map<string, PolyphaseKernel>();
const DESIGNS_KEPT = 16;

function cachedKernel(fromRate: number, toRate: number, quality: ResampleQuality, design: LowpassDesign): PolyphaseKernel {
  const key = `${fromRate}:${toRate}:${quality}`;
  let kernel = designs.get(key);
  if (kernel) {
    designs.delete(key); // re-insert: most recently used last
  } else {
    kernel = designPolyphase(fromRate, toRate, design);
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
    const { up, down, taps } = this;
    const half = this.kernel.half;
    // Output k (from here) reads inputs from base_k − half + 1 on, base_k = base + floor((phase + k·down) / up);
    // it can be computed once base_k − half + 1 + taps ≤ the end of the history.
    const room = this.historyStart + this.historyLength - taps + half - 1 - this.base;
    const fits = room < 0 ? 0 : Math.floor(((room + 1) * up - this.phase - 1) / down) + 1;
    const count = Math.min(fits, limit - this.outputFrames);
    if (count <= 0) return this.history.map(() => new Float32Array(0));
    const base = this.base;
    const phase = this.phase;
    const first = base - half + 1 - this.historyStart; // where output 0's window starts in the history
    const after = phase + count * down;
    this.base = base + Math.floor(after / up);
    this.phase = after % up;
    this.outputFrames += count;
    if (this.simd) {
      const span = Math.floor((phase + (count - 1) * down) / up) + taps;
      return this.history.map((h) => this.simd!.convolve(h, first, span, phase, count));
    }
    this.schedule(first, phase, count);
    return this.history.map((h) => {
      const samples = new Float32Array(count);
      if (this.kernel.exact) this.convolve(h, samples, count);
      else this.convolveBlended(h, samples, count);
      return samples;
    });
  }

  /** Lays out where each of `count` outputs reads the history and the table, for the plain-JS loops. */
  private schedule(first: number, phase: number, count: number): void {
    const { up, taps, stepWhole, stepPhase } = this;
    const { rows: tableRows, exact } = this.kernel;
    while (this.starts.length < count) this.growSchedule();
    let start = first;
    for (let k = 0; k < count; k++) {
      this.starts[k] = start;
      if (exact) {
        this.rows[k] = phase * taps;
      } else {
        const position = (phase * tableRows) / up;
        const row = Math.floor(position);
        this.rows[k] = row * taps;
        this.blends[k] = position - row;
      }
      start += stepWhole;
      phase += stepPhase;
      if (phase >= up) {
        phase -= up;
        start++;
      }
    }
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
 * the table, one record per phase (row offset, history advance, next
 * record), then per call the history window and the output.
 */
class SimdRunner {
  private readonly bytes: number;
  private readonly tapBytes: number;
  private readonly up: number;
  private readonly downBytes: number;
  private readonly phasesAt: number;
  private readonly historyAt: number;

  constructor(
    private readonly kernel: SimdKernel,
    readonly precision: SimdPrecision,
    polyphase: PolyphaseKernel,
  ) {
    const bytes = precision === 'f32' ? 4 : 8;
    const { up, down, taps, table } = polyphase;
    this.bytes = bytes;
    this.tapBytes = taps * bytes;
    this.up = up;
    this.downBytes = down * bytes;
    this.phasesAt = table.length * bytes;
    this.historyAt = Math.ceil((this.phasesAt + 12 * up) / 16) * 16;
    this.reserve(this.historyAt);
    const Table = precision === 'f32' ? Float32Array : Float64Array;
    new Table(kernel.memory.buffer, 0, table.length).set(table);
    const phases = new Int32Array(kernel.memory.buffer, this.phasesAt, 3 * up);
    const stepWhole = Math.floor(down / up);
    const stepPhase = down % up;
    for (let p = 0; p < up; p++) {
      const next = p + stepPhase;
      phases[3 * p] = p * this.tapBytes;
      phases[3 * p + 1] = (stepWhole + (next >= up ? 1 : 0)) * bytes;
      phases[3 * p + 2] = 12 * (next >= up ? next - up : next);
    }
  }

  private reserve(bytes: number): void {
    const memory = this.kernel.memory;
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  }

  /**
   * The `count` outputs from `phase` on for one channel's history, output 0's
   * window starting at `first` and all of them within `span` samples.
   */
  convolve(history: Float32Array, first: number, span: number, phase: number, count: number): Float32Array {
    const outAt = this.historyAt + Math.ceil((span * this.bytes) / 16) * 16;
    this.reserve(outAt + 4 * count);
    const buffer = this.kernel.memory.buffer;
    const window = history.subarray(first, first + span);
    if (this.bytes === 4) new Float32Array(buffer, this.historyAt, span).set(window);
    else new Float64Array(buffer, this.historyAt, span).set(window);
    this.kernel.convolve(0, this.historyAt, this.phasesAt, count, outAt, this.tapBytes, this.up, this.downBytes, this.phasesAt + 12 * phase);
    return new Float32Array(buffer, outAt, count).slice();
  }
}
