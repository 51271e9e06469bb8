import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createResampler, RESAMPLE_QUALITY, type ResampleQuality } from '../dsp/resampler.js';
import { VoxpipeError } from '../errors.js';
import { anyPcm } from '../format.js';
import { pipeline } from '../index.js';
import { WritableStream } from '../streams.js';
import { concatPcm, pcmFrames, type PcmChunk } from '../pcm/pcm.js';
import { collect } from '../sinks/collect.js';
import { fromIterable } from '../sources/from-iterable.js';
import { tone } from '../sources/tone.js';
import { acceptedWhileStalled, runTransform, testContext } from '../testing/harness.js';
import { arbitraryPcm, cutPcm, pcmPartitions } from '../testing/arbitraries.js';
import { runAbortedAtAnyPull } from '../testing/abort-properties.js';
import { SWEEP_PAIRS, sweepResampler } from '../testing/resample-sweep.js';
import { resample } from './resample.js';

const RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000];
const PAIRS: Array<[number, number]> = RATES.flatMap((a) => RATES.map((b): [number, number] => [a, b]));
const QUALITIES: ResampleQuality[] = ['high', 'medium', 'fast'];
const ENGINES = ['f32', 'f64', 'js'] as const;

function sine(rate: number, frequency: number, frames: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate);
  return out;
}

/** The whole output of a one-shot resampler run, channel 0. */
function oneShot(input: Float32Array, from: number, to: number, quality: ResampleQuality = 'high'): Float32Array {
  const r = createResampler(from, to, 1, quality);
  return concatPcm([{ sampleRate: to, channels: r.process([input]) }, { sampleRate: to, channels: r.flush() }], to, 1).channels[0];
}

/** RMS of `x − reference` over the middle half, relative to the reference's RMS, in dB. */
function errorDb(x: Float32Array, reference: (j: number) => number): number {
  let err = 0;
  let sig = 0;
  for (let j = Math.floor(x.length / 4); j < Math.floor((3 * x.length) / 4); j++) {
    err += (x[j] - reference(j)) ** 2;
    sig += reference(j) ** 2;
  }
  return 10 * Math.log10(err / sig);
}

/** RMS over the middle half in dB relative to full scale. */
function rmsDb(x: Float32Array): number {
  let sum = 0;
  const lo = Math.floor(x.length / 4);
  const hi = Math.floor((3 * x.length) / 4);
  for (let j = lo; j < hi; j++) sum += x[j] * x[j];
  return 10 * Math.log10(sum / (hi - lo));
}

function bytesOf(pcm: PcmChunk): Uint8Array[] {
  return pcm.channels.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
}

describe('createResampler', () => {
  it('gives the same samples, bit for bit, however the input is chunked', () => {
    fc.assert(
      fc.property(
        arbitraryPcm({ maxFrames: 1200, maxChannels: 2, sampleRates: RATES }).chain((pcm) =>
          fc.tuple(fc.constant(pcm), pcmPartitions(pcm), fc.constantFrom(...RATES, 44101, 12345), fc.constantFrom(...QUALITIES), fc.constantFrom(...ENGINES)),
        ),
        ([pcm, parts, to, quality, engine]) => {
          const whole = createResampler(pcm.sampleRate, to, pcm.channels.length, quality, { engine });
          const expected = concatPcm([{ sampleRate: to, channels: whole.process(pcm.channels) }, { sampleRate: to, channels: whole.flush() }], to, pcm.channels.length);
          const split = createResampler(pcm.sampleRate, to, pcm.channels.length, quality, { engine });
          const pieces = parts.map((part) => ({ sampleRate: to, channels: split.process(part.channels) }));
          pieces.push({ sampleRate: to, channels: split.flush() });
          const actual = concatPcm(pieces, to, pcm.channels.length);
          expect(bytesOf(actual)).toEqual(bytesOf(expected));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives the same samples from the f64 SIMD engine as from the plain-JS loop, and f32 within 1e-6', () => {
    const input = sine(44100, 1234, 20000);
    for (const to of [24000, 48000, 8000]) {
      const run = (engine: (typeof ENGINES)[number]) => {
        const r = createResampler(44100, to, 1, 'high', { engine });
        expect(r.engine).toBe(engine); // WebAssembly SIMD is there in Node ≥ 16
        return concatPcm([{ sampleRate: to, channels: r.process([input]) }, { sampleRate: to, channels: r.flush() }], to, 1).channels[0];
      };
      const js = run('js');
      expect(run('f64')).toEqual(js);
      const f32 = run('f32');
      expect(f32.length).toBe(js.length);
      for (let i = 0; i < js.length; i++) expect(Math.abs(f32[i] - js[i])).toBeLessThan(1e-6);
    }
  });

  it('gives exactly round(n × to / from) frames for every pair of common rates', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PAIRS), fc.integer({ min: 0, max: 5000 }), fc.constantFrom(...QUALITIES), ([from, to], n, quality) => {
        const out = oneShot(sine(from, 440, n), from, to, quality);
        expect(out.length).toBe(Math.round((n * to) / from));
      }),
      { numRuns: 150 },
    );
  });

  it('does not drift over a long stream of odd-sized chunks', () => {
    const r = createResampler(44100, 48000, 1, 'fast');
    let total = 0;
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const size = 1 + ((i * 7919) % 613);
      n += size;
      total += r.process([new Float32Array(size)])[0].length;
    }
    total += r.flush()[0].length;
    expect(total).toBe(Math.round((n * 48000) / 44100));
  });

  it('keeps timing: a 1 kHz tone comes out as the same tone at the new rate, with no delay', () => {
    for (const [from, to] of [
      [48000, 24000],
      [44100, 24000],
      [24000, 48000],
      [8000, 44100],
      [22050, 16000],
      [44101, 48000],
    ]) {
      for (const quality of QUALITIES) {
        const out = oneShot(sine(from, 1000, from / 2), from, to, quality);
        const limit = quality === 'fast' ? -60 : -80;
        expect(errorDb(out, (j) => 0.5 * Math.sin((2 * Math.PI * 1000 * j) / to)), `${from}→${to} ${quality}`).toBeLessThan(limit);
      }
    }
  });

  it('puts an impulse at the same time in the output', () => {
    for (const [from, to, at] of [
      [48000, 24000, 1000],
      [24000, 48000, 1000],
      [44100, 24000, 1470],
      [16000, 44100, 800],
    ]) {
      const input = new Float32Array(4000);
      input[at] = 1;
      const out = oneShot(input, from, to);
      let peak = 0;
      for (let j = 1; j < out.length; j++) if (Math.abs(out[j]) > Math.abs(out[peak])) peak = j;
      expect(peak, `${from}→${to}`).toBe((at * to) / from);
    }
  });

  it("passes 1 kHz and its quality's passband edge within the stated ripple", () => {
    for (const quality of QUALITIES) {
      const spec = RESAMPLE_QUALITY[quality];
      for (const [from, to] of [
        [48000, 24000],
        [16000, 48000],
      ]) {
        for (const f of [1000, (spec.passband * Math.min(from, to)) / 2]) {
          const out = oneShot(sine(from, f, from), from, to, quality);
          const gainDb = rmsDb(out) - 20 * Math.log10(0.5 / Math.SQRT2);
          expect(Math.abs(gainDb), `${from}→${to} ${quality} ${f} Hz`).toBeLessThan(spec.ripple + 0.002);
        }
      }
    }
  });

  it('rejects a tone above the output Nyquist by the stated attenuation', () => {
    for (const quality of QUALITIES) {
      // 14 kHz into 16 kHz out: would alias to 2 kHz.
      const out = oneShot(sine(48000, 14000, 24000), 48000, 16000, quality);
      expect(rmsDb(out) - 20 * Math.log10(0.5 / Math.SQRT2), quality).toBeLessThan(-RESAMPLE_QUALITY[quality].attenuation);
    }
  });

  describe('keeps its stated spec for every tone of a sweep', () => {
    // Tones 50 Hz apart from 0.75 to 1.15 × the lower Nyquist, 5 % of it apart elsewhere, up to the input Nyquist.
    // Measurement slack: the sweep sees float32 input and output, and 50 Hz steps may miss the very worst tone.
    const SLACK_DB = 0.5;
    const cases: Array<{ quality: ResampleQuality; from: number; to: number; engine: 'f32' | 'js' }> = [
      ...QUALITIES.flatMap((quality) => SWEEP_PAIRS.map(([from, to]) => ({ quality, from, to, engine: 'f32' as const }))),
      // The plain-JS loop, where WebAssembly SIMD is missing.
      { quality: 'high', from: 48000, to: 24000, engine: 'js' },
      { quality: 'high', from: 44100, to: 48000, engine: 'js' },
    ];
    it.each(cases)('$quality $from → $to ($engine)', async ({ quality, from, to, engine }) => {
      const spec = RESAMPLE_QUALITY[quality];
      const convert = (input: Float32Array) => {
        const r = createResampler(from, to, 1, quality, { engine });
        return concatPcm([{ sampleRate: to, channels: r.process([input]) }, { sampleRate: to, channels: r.flush() }], to, 1).channels[0];
      };
      const result = await sweepResampler(convert, from, to, { step: 50, passband: spec.passband });
      const at = (hz: number) => `${from}→${to} ${quality}: worst at ${hz} Hz`;
      expect(result.worstAliasDb, at(result.worstAliasAt)).toBeLessThan(-spec.attenuation + SLACK_DB);
      expect(result.passbandDeviationDb, at(result.passbandDeviationAt)).toBeLessThan(spec.ripple * 1.1);
    });
  });

  it('passes the same rate through unchanged', () => {
    const input = sine(24000, 440, 1000);
    const r = createResampler(24000, 24000, 1);
    expect(r.process([input])[0]).toEqual(input);
    expect(r.flush()[0].length).toBe(0);
  });

  it('rejects bad rates, channel counts and qualities with a typed error', () => {
    for (const make of [
      () => createResampler(999, 24000, 1),
      () => createResampler(44100, 400000, 1),
      () => createResampler(44100.5, 24000, 1),
      () => createResampler(44100, 24000, 0),
      () => createResampler(44100, 24000, 1, 'best' as ResampleQuality),
    ]) {
      expect(make).toThrow(VoxpipeError);
      try {
        make();
      } catch (error) {
        expect((error as VoxpipeError).code).toBe('bad-request');
      }
    }
    const r = createResampler(44100, 24000, 2);
    expect(() => r.process([new Float32Array(4)])).toThrow(/channel/);
    expect(() => r.process([new Float32Array(4), new Float32Array(3)])).toThrow(/length/);
  });
});

describe('resample', () => {
  const rates = (pcm: PcmChunk) => ({ kind: 'pcm' as const, sampleRate: pcm.sampleRate, channels: pcm.channels.length });

  it('declares what it gives: pcm at the new rate, channels kept', () => {
    expect(resample({ rate: 16000 }).gives({ kind: 'pcm', sampleRate: 44100, channels: 2 })).toEqual({ kind: 'pcm', sampleRate: 16000, channels: 2 });
    expect(resample({ rate: 16000 }).spec).toEqual({ stage: 'resample', options: { rate: 16000, quality: 'high' } });
  });

  it('gives identical audio for any chunking of the same input (1-frame chunks included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 600, maxChannels: 2, sampleRates: RATES }).chain((pcm) =>
          fc.tuple(fc.constant(pcm), pcmPartitions(pcm), fc.constantFrom(...RATES), fc.constantFrom(...QUALITIES)),
        ),
        async ([pcm, parts, rate, quality]) => {
          const stage = resample({ rate, quality });
          const whole = await runTransform(stage, cutPcm(pcm, []), rates(pcm));
          const split = await runTransform(stage, parts, rates(pcm));
          expect(split.every((c) => pcmFrames(c) > 0 && c.sampleRate === rate)).toBe(true);
          const a = concatPcm(whole, rate, pcm.channels.length);
          const b = concatPcm(split, rate, pcm.channels.length);
          expect(pcmFrames(b)).toBe(Math.round((pcmFrames(pcm) * rate) / pcm.sampleRate));
          expect(bytesOf(b)).toEqual(bytesOf(a));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('runs in a pipeline: 1 s of 44.1 kHz tone becomes 1 s at 24 kHz', async () => {
    const { value } = await pipeline(tone({ sampleRate: 44100, frequency: 1000, ms: 1000, db: -6 }), resample({ rate: 24000 }), collect()).done;
    const out = value!.pcm!;
    expect(out.sampleRate).toBe(24000);
    expect(pcmFrames(out)).toBe(24000);
    const amplitude = 10 ** (-6 / 20);
    expect(errorDb(out.channels[0], (j) => amplitude * Math.sin((2 * Math.PI * 1000 * j) / 24000))).toBeLessThan(-80);
  });

  it('at the same rate gives on the very chunks it takes, marks and all; a mark on an empty chunk lands on the next frame', async () => {
    const mark = (frame: number, text: string) => ({ frame, duration: 0.1, text, charStart: 0, charEnd: text.length });
    const first: PcmChunk = { sampleRate: 24000, channels: [sine(24000, 440, 480)], marks: [mark(10, 'one')] };
    const empty: PcmChunk = { sampleRate: 24000, channels: [new Float32Array(0)], marks: [mark(0, 'two')] };
    const third: PcmChunk = { sampleRate: 24000, channels: [sine(24000, 440, 480)] };
    const fourth: PcmChunk = { sampleRate: 24000, channels: [sine(24000, 440, 240)], marks: [mark(5, 'three')] };
    const out = await runTransform(resample({ rate: 24000 }), [first, empty, third, fourth], { kind: 'pcm', sampleRate: 24000, channels: 1 });
    expect(out).toHaveLength(3);
    expect(out[0]).toBe(first);
    expect(out[1].channels[0]).toEqual(third.channels[0]);
    expect(out[1].marks).toEqual([mark(0, 'two')]);
    expect(out[2]).toBe(fourth);
  });

  it('buffers boundedly behind a stalled reader', async () => {
    const chunks = cutPcm({ sampleRate: 48000, channels: [sine(48000, 440, 48000)] }, Array.from({ length: 100 }, (_, i) => i * 480));
    const accepted = await acceptedWhileStalled(resample({ rate: 24000 }), chunks, { kind: 'pcm', sampleRate: 48000, channels: 1 });
    expect(accepted).toBeLessThanOrEqual(3);
  });

  it('aborts cleanly mid-stream: nothing pending, the run ends aborted', async () => {
    const ctx = testContext('resample');
    const stream = resample({ rate: 16000 }).create(ctx, anyPcm);
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    void writer.write({ sampleRate: 48000, channels: [sine(48000, 440, 4800)] }).catch(() => {});
    expect(pcmFrames((await reader.read()).value!)).toBeGreaterThan(0);
    await writer.abort(new Error('stop'));
    await expect(reader.read()).rejects.toThrow('stop');
    ctx.finish();
    expect(ctx.pendingCleanups()).toBe(0);

  });

  it('ends a run aborted at any point', () => runAbortedAtAnyPull({ stage: () => resample({ rate: 24000 }), chunk: () => ({ sampleRate: 44100, channels: [sine(44100, 440, 441)] }), format: anyPcm }));

  it('rejects bad options, naming the option', () => {
    expect(() => resample({ rate: 999 })).toThrow(/resample.*rate/);
    expect(() => resample({ rate: 24000, quality: 'best' as 'high' })).toThrow(/resample.*quality/);
    expect(() => resample({} as { rate: number })).toThrow(/resample.*rate/);
    expect(resample({ rate: 12345 }).name).toBe('resample'); // any integer rate in range
  });

  it('fails with a format error when the input rate or channel count changes mid-stream', async () => {
    const a = { sampleRate: 48000, channels: [new Float32Array(100)] };
    const b = { sampleRate: 44100, channels: [new Float32Array(100)] };
    const c = { sampleRate: 48000, channels: [new Float32Array(100), new Float32Array(100)] };
    const d = { sampleRate: 500, channels: [new Float32Array(100)] };
    for (const input of [[a, b], [a, c], [d]]) {
      const stream = resample({ rate: 24000 }).create(testContext('resample'), anyPcm);
      const reading = stream.readable.pipeTo(new WritableStream());
      const writer = stream.writable.getWriter();
      const writing = (async () => {
        for (const chunk of input) await writer.write(chunk);
        await writer.close();
      })();
      await expect(writing).rejects.toMatchObject({ code: 'format', stage: 'resample' });
      await expect(reading).rejects.toMatchObject({ code: 'format' });
    }
  });
});
