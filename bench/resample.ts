// Resampler quality and speed: voxpipe's `resample` presets against
// libsamplerate-js (BEST / MEDIUM / FASTEST), and sox `rate -v` and ffmpeg's
// soxr when they are on PATH, all measured in this run.
//   alias  13 kHz tone at 48 k / 44.1 k → 24 k: level at its alias (11 kHz) re the input tone
//   gain   1 kHz and 10.8 kHz (0.9 × output Nyquist) tones, 48 k → 24 k
//   speed  mono, × real time, 100 ms chunks (sox/ffmpeg: whole process on a WAV file)
// Run: npx tsx bench/resample.ts        (BENCH_SECONDS=10 sets the speed signal length)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lsr from '@alexanderolsen/libsamplerate-js';
import { createResampler, type ResampleQuality } from '../packages/core/src/dsp/resampler.js';
import { besselI0 } from '../packages/core/src/dsp/kaiser.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CHUNK_MS = 100;
const AMPLITUDE = 0.5;
const SPEED_PAIRS: Array<[number, number]> = [
  [48000, 24000],
  [44100, 24000],
  [24000, 48000],
];

type Convert = (input: Float32Array, from: number, to: number) => Promise<Float32Array>;

interface Contender {
  name: string;
  /** One-shot conversion of a whole signal (quality figures). */
  convert: Convert;
  /** Seconds of CPU for converting `input` in 100 ms chunks; undefined = use convert's wall time. */
  stream?: (input: Float32Array, from: number, to: number) => Promise<number>;
}

function sine(rate: number, frequency: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = AMPLITUDE * Math.sin((2 * Math.PI * frequency * i) / rate);
  return out;
}

/**
 * Amplitude of `frequency` in the middle second of `x`, by a Kaiser-windowed
 * (β = 24, sidelobes below −190 dB) DFT at that one frequency.
 */
function level(x: Float32Array, rate: number, frequency: number): number {
  const n = rate; // one second: every test frequency falls on a bin
  const start = Math.floor((x.length - n) / 2);
  const beta = 24;
  const i0 = besselI0(beta);
  let re = 0;
  let im = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const r = (2 * i) / (n - 1) - 1;
    const w = besselI0(beta * Math.sqrt(1 - r * r)) / i0;
    const phase = (2 * Math.PI * frequency * (start + i)) / rate;
    re += w * x[start + i] * Math.cos(phase);
    im += w * x[start + i] * Math.sin(phase);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

const db = (ratio: number) => 20 * Math.log10(Math.max(ratio, 1e-12));

// --- voxpipe ---------------------------------------------------------------

function voxpipe(quality: ResampleQuality, engine: 'f64' | 'f32' | 'js'): Contender {
  const run = (input: Float32Array, from: number, to: number): Float32Array => {
    const r = createResampler(from, to, 1, quality, { engine });
    const chunk = Math.round((from * CHUNK_MS) / 1000);
    const parts: Float32Array[] = [];
    for (let i = 0; i < input.length; i += chunk) parts.push(r.process([input.subarray(i, i + chunk)])[0]);
    parts.push(r.flush()[0]);
    return join32(parts);
  };
  return {
    name: `voxpipe ${quality}${engine === 'f32' ? '' : ` (${engine})`}`,
    convert: async (input, from, to) => run(input, from, to),
    stream: async (input, from, to) => {
      const t0 = performance.now();
      run(input, from, to);
      return (performance.now() - t0) / 1000;
    },
  };
}

function join32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

// --- libsamplerate-js --------------------------------------------------------

const { create, ConverterType } = lsr as unknown as typeof import('@alexanderolsen/libsamplerate-js');

function libsamplerate(label: string, type: number): Contender {
  const run = async (input: Float32Array, from: number, to: number, timed: boolean) => {
    const src = await create(1, from, to, { converterType: type as 0 });
    const chunk = Math.round((from * CHUNK_MS) / 1000);
    const parts: Float32Array[] = [];
    const t0 = performance.now();
    for (let i = 0; i < input.length; i += chunk) parts.push(src.full(input.subarray(i, i + chunk)).slice());
    const seconds = (performance.now() - t0) / 1000;
    src.destroy();
    return timed ? seconds : join32(parts);
  };
  return {
    name: `libsamplerate ${label}`,
    convert: async (input, from, to) => (await run(input, from, to, false)) as Float32Array,
    stream: async (input, from, to) => (await run(input, from, to, true)) as number,
  };
}

// --- sox / ffmpeg on WAV files --------------------------------------------------

function writeWav(path: string, samples: Float32Array, rate: number): void {
  const data = samples.length * 4;
  const out = new DataView(new ArrayBuffer(44 + data));
  const text = (at: number, s: string) => [...s].forEach((c, i) => out.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  out.setUint32(4, 36 + data, true);
  text(8, 'WAVEfmt ');
  out.setUint32(16, 16, true);
  out.setUint16(20, 3, true); // IEEE float
  out.setUint16(22, 1, true);
  out.setUint32(24, rate, true);
  out.setUint32(28, rate * 4, true);
  out.setUint16(32, 4, true);
  out.setUint16(34, 32, true);
  text(36, 'data');
  out.setUint32(40, data, true);
  for (let i = 0; i < samples.length; i++) out.setFloat32(44 + 4 * i, samples[i], true);
  writeFileSync(path, new Uint8Array(out.buffer));
}

/** Mono float32 or int16 samples of a WAV file (walks the chunks; ignores the rest). */
function readWav(path: string): Float32Array {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let bits = 32;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString('latin1', at, at + 4);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') bits = view.getUint16(at + 22, true);
    if (id === 'data') {
      const n = Math.floor(Math.min(size, bytes.length - at - 8) / (bits / 8));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bits === 32 ? view.getFloat32(at + 8 + 4 * i, true) : view.getInt16(at + 8 + 2 * i, true) / 32768;
      return out;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`no data chunk in ${path}`);
}

function external(name: string, command: string, args: (input: string, output: string, to: number) => string[]): Contender | undefined {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'voxpipe-resample-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const run = (input: Float32Array, from: number, to: number) => {
    const inPath = join(dir, `in-${n}.wav`);
    const outPath = join(dir, `out-${n++}.wav`);
    writeWav(inPath, input, from);
    const t0 = performance.now();
    execFileSync(command, args(inPath, outPath, to), { stdio: 'ignore' });
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, output: readWav(outPath) };
  };
  return {
    name,
    convert: async (input, from, to) => run(input, from, to).output,
    stream: async (input, from, to) => run(input, from, to).seconds,
  };
}

// --- the run ------------------------------------------------------------------------

const contenders: Contender[] = [
  voxpipe('high', 'f32'),
  voxpipe('high', 'f64'),
  voxpipe('high', 'js'),
  voxpipe('medium', 'f32'),
  voxpipe('fast', 'f32'),
  libsamplerate('BEST', ConverterType.SRC_SINC_BEST_QUALITY),
  libsamplerate('MEDIUM', ConverterType.SRC_SINC_MEDIUM_QUALITY),
  libsamplerate('FASTEST', ConverterType.SRC_SINC_FASTEST),
];
const sox = external('sox rate -v', 'sox', (i, o, to) => [i, '-e', 'floating-point', '-b', '32', o, 'rate', '-v', String(to)]);
const ffmpeg = external('ffmpeg soxr (precision 28)', 'ffmpeg', (i, o, to) => [
  '-nostdin', '-y', '-loglevel', 'error', '-i', i, '-af', `aresample=${to}:resampler=soxr:precision=28`, '-c:a', 'pcm_f32le', o,
]);
if (sox) contenders.push(sox);
if (ffmpeg) contenders.push(ffmpeg);

interface Row {
  name: string;
  alias48: number;
  alias44: number;
  gain1k: number;
  gainEdge: number;
  speed: number[];
}

const tones = {
  alias48: sine(48000, 13000, 3),
  alias44: sine(44100, 13000, 3),
  k1: sine(48000, 1000, 3),
  edge: sine(48000, 10800, 3),
};
const speedInputs = SPEED_PAIRS.map(([from]) => {
  const x = sine(from, 1000, SECONDS);
  for (let i = 0; i < x.length; i++) x[i] += 0.1 * Math.sin(i * 0.37) * Math.sin(i * 0.0011);
  return x;
});

const rows: Row[] = [];
for (const c of contenders) {
  const alias48 = db(level(await c.convert(tones.alias48, 48000, 24000), 24000, 11000) / AMPLITUDE);
  const alias44 = db(level(await c.convert(tones.alias44, 44100, 24000), 24000, 11000) / AMPLITUDE);
  const gain1k = db(level(await c.convert(tones.k1, 48000, 24000), 24000, 1000) / AMPLITUDE);
  const gainEdge = db(level(await c.convert(tones.edge, 48000, 24000), 24000, 10800) / AMPLITUDE);
  const speed: number[] = [];
  for (let p = 0; p < SPEED_PAIRS.length; p++) {
    const [from, to] = SPEED_PAIRS[p];
    await c.stream!(speedInputs[p].subarray(0, from), from, to); // warm up
    let best = Infinity;
    for (let rep = 0; rep < 2; rep++) best = Math.min(best, await c.stream!(speedInputs[p], from, to));
    speed.push(SECONDS / best);
  }
  rows.push({ name: c.name, alias48, alias44, gain1k, gainEdge, speed });
}

const pad = (s: string, n: number) => s.padStart(n);
const fmt = (x: number, digits = 1) => (x < -200 ? '<-200' : x.toFixed(digits));
console.log(`mono, ${SECONDS} s signals, ${CHUNK_MS} ms chunks; alias = level at 11 kHz re the 13 kHz input; gain in dB; speed in × real time`);
console.log(
  `${'resampler'.padEnd(28)}${pad('alias 48→24', 12)}${pad('alias 44.1→24', 14)}${pad('gain 1k', 10)}${pad('gain 10.8k', 11)}` +
    SPEED_PAIRS.map(([a, b]) => pad(`${a / 1000}→${b / 1000}`, 10)).join(''),
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(28)}${pad(fmt(r.alias48), 12)}${pad(fmt(r.alias44), 14)}${pad(fmt(r.gain1k, 4), 10)}${pad(fmt(r.gainEdge, 4), 11)}` +
      r.speed.map((s) => pad(`${fmt(s, 0)}×`, 10)).join(''),
  );
}

const find = (name: string) => rows.find((r) => r.name === name)!;
console.log('\nspeed ratio voxpipe / libsamplerate-js (same pairs):');
for (const [ours, theirs] of [
  ['voxpipe high', 'libsamplerate BEST'],
  ['voxpipe high (f64)', 'libsamplerate BEST'],
  ['voxpipe high (js)', 'libsamplerate BEST'],
  ['voxpipe medium', 'libsamplerate MEDIUM'],
  ['voxpipe fast', 'libsamplerate FASTEST'],
]) {
  const a = find(ours);
  const b = find(theirs);
  console.log(`  ${ours.padEnd(20)} vs ${theirs.padEnd(22)}` + a.speed.map((s, i) => pad(`${fmt(s / b.speed[i])}×`, 9)).join(''));
}
