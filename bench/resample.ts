// Resampler quality and speed: voxpipe's `resample` presets against
// libsamplerate-js (BEST / MEDIUM / FASTEST), and sox `rate -v` and ffmpeg's
// soxr when they are on PATH, all measured in this run.
//   quality  a sweep of pure tones for each pair of rates (every 50 Hz from 0.75 to 1.15 × the
//            lower Nyquist, every 5 % of it elsewhere, up to the input Nyquist; the same
//            measurement as the resampler's test, packages/core/src/testing/resample-sweep.ts):
//            worst alias or image over the sweep, the median tone, the largest passband
//            deviation up to 0.9 × the lower Nyquist, and how far the passband is flat (±0.01 dB)
//   speed    mono, × real time, 100 ms chunks (sox/ffmpeg: whole process on a WAV file), best of
//            3 rounds that each run every contender once
// Run: npx tsx bench/resample.ts        (BENCH_SECONDS=10 sets the speed signal length; BENCH_STEP=50 the sweep step)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lsr from '@alexanderolsen/libsamplerate-js';
import { createResampler, RESAMPLE_QUALITY, type ResampleQuality } from '../packages/core/src/dsp/resampler.js';
import { SWEEP_PAIRS, sweepInputs, sweepReport, type SweepResult } from '../packages/core/src/testing/resample-sweep.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const STEP = Number(process.env.BENCH_STEP ?? 50);
const CHUNK_MS = 100;
const FLAT_DB = 0.01;
const SPEED_PAIRS: Array<[number, number]> = [
  [48000, 24000],
  [44100, 24000],
  [24000, 48000],
];

interface Contender {
  name: string;
  /** What it promises, for ours. */
  spec?: string;
  /** Converts each whole signal (quality figures). */
  convertAll: (inputs: Float32Array[], from: number, to: number) => Promise<Float32Array[]>;
  /** Seconds for converting `input` in 100 ms chunks: wall clock, and CPU of this process (in-process contenders only). */
  stream: (input: Float32Array, from: number, to: number) => Promise<Timing>;
}

interface Timing {
  wall: number;
  cpu?: number;
}

/** Times `run` by the wall clock and by this process's CPU time (user + system). */
async function timed(run: () => unknown): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
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

// --- voxpipe ---------------------------------------------------------------

function voxpipe(quality: ResampleQuality, engine: 'f64' | 'f32' | 'js'): Contender {
  const run = (input: Float32Array, from: number, to: number, chunk: number): Float32Array => {
    const r = createResampler(from, to, 1, quality, { engine });
    const parts: Float32Array[] = [];
    for (let i = 0; i < input.length; i += chunk) parts.push(r.process([input.subarray(i, i + chunk)])[0]);
    parts.push(r.flush()[0]);
    return join32(parts);
  };
  const s = RESAMPLE_QUALITY[quality];
  return {
    name: `voxpipe ${quality}${engine === 'f32' ? '' : ` (${engine})`}`,
    spec: `flat ±${s.ripple} dB to ${s.passband}, −${s.attenuation} dB from ${s.stopband}`,
    convertAll: async (inputs, from, to) => inputs.map((x) => run(x, from, to, x.length)),
    stream: (input, from, to) => timed(() => run(input, from, to, Math.round((from * CHUNK_MS) / 1000))),
  };
}

// --- libsamplerate-js --------------------------------------------------------

const { create, ConverterType } = lsr as unknown as typeof import('@alexanderolsen/libsamplerate-js');

function libsamplerate(label: string, type: number): Contender {
  return {
    name: `libsamplerate ${label}`,
    convertAll: async (inputs, from, to) => {
      const src = await create(1, from, to, { converterType: type as 0 });
      const out = inputs.map((x) => src.simple(x).slice());
      src.destroy();
      return out;
    },
    stream: async (input, from, to) => {
      const src = await create(1, from, to, { converterType: type as 0 });
      const chunk = Math.round((from * CHUNK_MS) / 1000);
      const timing = await timed(() => {
        for (let i = 0; i < input.length; i += chunk) src.full(input.subarray(i, i + chunk)).slice();
      });
      src.destroy();
      return timing;
    },
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
    // One process for the whole sweep: the tones one after another with 50 ms of silence between,
    // cut apart again at the same times in the output (the measurement leaves out each tone's edges).
    convertAll: async (inputs, from, to) => {
      const gap = Math.round(from * 0.05);
      const starts: number[] = [];
      let length = gap;
      for (const x of inputs) {
        starts.push(length);
        length += x.length + gap;
      }
      const joined = new Float32Array(length);
      inputs.forEach((x, i) => joined.set(x, starts[i]));
      const out = run(joined, from, to).output;
      return inputs.map((x, i) => out.slice(Math.round((starts[i] * to) / from), Math.round(((starts[i] + x.length) * to) / from)));
    },
    stream: async (input, from, to) => ({ wall: run(input, from, to).seconds }),
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
  spec?: string;
  sweeps: SweepResult[];
  /** Median residual over every tone of every pair. */
  typical: number;
  /** Largest |gain| up to 0.9 × the lower Nyquist, over the pairs. */
  passband: number;
  /** Lowest (over the pairs) fraction of the lower Nyquist up to which every tone is within ±0.01 dB. */
  flatTo: number;
  /** × real time by the wall clock, per speed pair. */
  speed: number[];
  /** × real time per CPU second of this process (NaN for the external tools). */
  cpuSpeed: number[];
}

/** Fraction of the lower Nyquist below the first tone whose gain is off by more than FLAT_DB. */
function flatTo(sweep: SweepResult): number {
  const nyquist = Math.min(sweep.fromRate, sweep.toRate) / 2;
  let flat = 0;
  for (const t of sweep.tones) {
    if (t.gainDb === undefined || t.frequency >= nyquist) break;
    if (Math.abs(t.gainDb) > FLAT_DB) break;
    flat = t.frequency / nyquist;
  }
  return flat;
}

/** Largest |gain| in dB over the tones up to `edge` × the lower Nyquist. */
function deviationTo(sweep: SweepResult, edge: number): number {
  const top = edge * (Math.min(sweep.fromRate, sweep.toRate) / 2) + 1e-9;
  return Math.max(0, ...sweep.tones.filter((t) => t.gainDb !== undefined && t.frequency <= top).map((t) => Math.abs(t.gainDb!)));
}

const sweepSets = SWEEP_PAIRS.map(([from, to]) => sweepInputs(from, to, { step: STEP }));
const speedInputs = SPEED_PAIRS.map(([from]) => {
  const x = new Float32Array(from * SECONDS);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / from) + 0.1 * Math.sin(i * 0.37) * Math.sin(i * 0.0011);
  return x;
});

const rows: Row[] = [];
for (const c of contenders) {
  const sweeps: SweepResult[] = [];
  for (let p = 0; p < SWEEP_PAIRS.length; p++) {
    const [from, to] = SWEEP_PAIRS[p];
    const { frequencies, inputs } = sweepSets[p];
    sweeps.push(sweepReport(from, to, frequencies, await c.convertAll(inputs, from, to), { passband: 0.9 }));
  }
  const all = sweeps.flatMap((s) => s.tones.map((t) => t.residualDb)).sort((a, b) => a - b);
  rows.push({
    name: c.name,
    spec: c.spec,
    sweeps,
    typical: all[Math.floor(all.length / 2)],
    passband: Math.max(...sweeps.map((s) => s.passbandDeviationDb)),
    flatTo: Math.min(...sweeps.map(flatTo)),
    speed: SPEED_PAIRS.map(() => 0),
    cpuSpeed: SPEED_PAIRS.map(() => (c.name.startsWith('voxpipe') || c.name.startsWith('libsamplerate') ? 0 : NaN)),
  });
}
// Speed: every contender once per round, three rounds, best kept, so a busy spell on a shared machine falls on all alike.
for (let i = 0; i < contenders.length; i++) {
  for (let p = 0; p < SPEED_PAIRS.length; p++) await contenders[i].stream(speedInputs[p].subarray(0, SPEED_PAIRS[p][0]), ...SPEED_PAIRS[p]); // warm up
}
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < contenders.length; i++) {
    for (let p = 0; p < SPEED_PAIRS.length; p++) {
      const t = await contenders[i].stream(speedInputs[p], ...SPEED_PAIRS[p]);
      rows[i].speed[p] = Math.max(rows[i].speed[p], SECONDS / t.wall);
      if (t.cpu !== undefined) rows[i].cpuSpeed[p] = Math.max(rows[i].cpuSpeed[p], SECONDS / t.cpu);
    }
  }
}

const pad = (s: string, n: number) => s.padStart(n);
const fmt = (x: number, digits = 1) => (x < -200 ? '<-200' : x.toFixed(digits));
const worst = (r: Row) => Math.max(...r.sweeps.map((s) => s.worstAliasDb));
const rate = (hz: number) => `${hz / 1000}`;

console.log(`Quality: a sweep of ${sweepSets.reduce((n, s) => n + s.frequencies.length, 0)} pure tones over ${SWEEP_PAIRS.length} pairs of rates (${STEP} Hz apart about the lower Nyquist).`);
console.log('alias = worst alias or image over the sweep, dB re the tone; typical = median tone; passband = largest |gain| to 0.9 × the lower Nyquist, dB;');
console.log(`flat to = the passband within ±${FLAT_DB} dB, as a fraction of the lower Nyquist (worst pair)\n`);
console.log(`${'resampler'.padEnd(28)}` + SWEEP_PAIRS.map(([a, b]) => pad(`${rate(a)}→${rate(b)}`, 10)).join('') + `${pad('typical', 9)}${pad('passband', 10)}${pad('flat to', 9)}`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(28)}` + r.sweeps.map((s) => pad(fmt(s.worstAliasDb), 10)).join('') + `${pad(fmt(r.typical), 9)}${pad(r.passband.toFixed(4), 10)}${pad(r.flatTo.toFixed(3), 9)}`,
  );
}
console.log('\nwhere each worst alias fell (tone in Hz, per pair):');
for (const r of rows) console.log(`  ${r.name.padEnd(28)}` + r.sweeps.map((s) => pad(String(s.worstAliasAt), 10)).join(''));
console.log('\nstated specs (fractions of the lower Nyquist), checked against the sweep above:');
for (const r of rows.filter((r) => r.spec && !r.name.includes('('))) {
  const quality = r.name.split(' ')[1] as ResampleQuality;
  const s = RESAMPLE_QUALITY[quality];
  const edgeDeviation = Math.max(...r.sweeps.map((w) => deviationTo(w, s.passband)));
  const ok = worst(r) <= -s.attenuation && edgeDeviation <= s.ripple;
  console.log(`  ${r.name.padEnd(16)} ${r.spec!.padEnd(36)} measured: worst ${fmt(worst(r))} dB, ±${edgeDeviation.toFixed(4)} dB to ${s.passband}  ${ok ? 'met' : 'NOT MET'}`);
}

console.log(`\nSpeed: mono, ${SECONDS} s signals, ${CHUNK_MS} ms chunks, best of 3 rounds (each running every contender once).`);
console.log('wall = × real time by the clock; cpu = × real time per CPU second of this process, which a busy shared machine disturbs less (— for the external tools)\n');
console.log(`${'resampler'.padEnd(28)}` + SPEED_PAIRS.map(([a, b]) => pad(`wall ${rate(a)}→${rate(b)}`, 15)).join('') + SPEED_PAIRS.map(([a, b]) => pad(`cpu ${rate(a)}→${rate(b)}`, 14)).join(''));
const times = (x: number) => (Number.isNaN(x) ? '—' : `${fmt(x, 0)}×`);
for (const r of rows) console.log(`${r.name.padEnd(28)}` + r.speed.map((x) => pad(times(x), 15)).join('') + r.cpuSpeed.map((x) => pad(times(x), 14)).join(''));

const find = (name: string) => rows.find((r) => r.name === name)!;
console.log('\nspeed ratio voxpipe / libsamplerate-js (same pairs; wall, then cpu), with what each gives for it:');
for (const [ours, theirs] of [
  ['voxpipe high', 'libsamplerate BEST'],
  ['voxpipe high (f64)', 'libsamplerate BEST'],
  ['voxpipe high (js)', 'libsamplerate BEST'],
  ['voxpipe medium', 'libsamplerate MEDIUM'],
  ['voxpipe fast', 'libsamplerate FASTEST'],
]) {
  const a = find(ours);
  const b = find(theirs);
  const note = `worst alias ${fmt(worst(a))} vs ${fmt(worst(b))} dB, flat to ${a.flatTo.toFixed(2)} vs ${b.flatTo.toFixed(2)}`;
  const ratios = (x: number[], y: number[]) => x.map((v, i) => pad(`${fmt(v / y[i])}×`, 7)).join('');
  console.log(`  ${ours.padEnd(20)} vs ${theirs.padEnd(22)}${ratios(a.speed, b.speed)}  |${ratios(a.cpuSpeed, b.cpuSpeed)}   (${note})`);
}
