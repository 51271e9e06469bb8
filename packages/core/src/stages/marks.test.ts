import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyPcm } from '../format.js';
import { concatPcm, pcmFrames, sliceMarks, type PcmChunk, type WordMark } from '../pcm/pcm.js';
import { PcmQueue } from '../pcm/pcm-queue.js';
import type { TransformStage } from '../stage.js';
import { bytePartitions, cutPcm, pcmPartitions, seededBytes } from '../testing/arbitraries.js';
import { runTransform, testContext } from '../testing/harness.js';
import { arbitraryMarkedPcm, landedMarks, marksLandAlike, runChain } from '../testing/marks.js';
import { fade, type FadeControl } from './fade.js';
import { frames } from './frames.js';
import { gain } from './gain.js';
import { meter } from './meter.js';
import { mix } from './mix.js';
import { pcmDecode } from './pcm-decode.js';
import { pcmEncode } from './pcm-encode.js';
import { prebuffer } from './prebuffer.js';
import { resample } from './resample.js';

/** A stage of a random chain, as data: how to make it, and where it sends a mark (`at` in a stream of `total` frames at `rate`). */
type Step =
  | { stage: 'resample'; rate: number; quality: 'fast' | 'high' }
  | { stage: 'frames'; samples: number; pad: boolean }
  | { stage: 'mix'; channels: number }
  | { stage: 'gain'; db: number }
  | { stage: 'fade'; inMs: number; outMs: number }
  | { stage: 'prebuffer'; chunks: number }
  | { stage: 'meter' };

const RATES = [8000, 11025, 16000, 22050, 24000, 44100, 48000];

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ stage: fc.constant('resample' as const), rate: fc.constantFrom(...RATES), quality: fc.constantFrom('fast' as const, 'high' as const) }) },
  { weight: 2, arbitrary: fc.record({ stage: fc.constant('frames' as const), samples: fc.integer({ min: 1, max: 700 }), pad: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ stage: fc.constant('mix' as const), channels: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ stage: fc.constant('gain' as const), db: fc.integer({ min: -20, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ stage: fc.constant('fade' as const), inMs: fc.integer({ min: 0, max: 30 }), outMs: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ stage: fc.constant('prebuffer' as const), chunks: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ stage: 'meter' as const }) },
);

function make(s: Step): TransformStage {
  switch (s.stage) {
    case 'resample':
      return resample({ rate: s.rate, quality: s.quality });
    case 'frames':
      return frames({ samples: s.samples, pad: s.pad });
    case 'mix':
      return mix({ channels: s.channels });
    case 'gain':
      return gain({ db: s.db });
    case 'fade':
      return fade({ inMs: s.inMs, outMs: s.outMs });
    case 'prebuffer':
      return prebuffer({ chunks: s.chunks }) as TransformStage;
    case 'meter':
      return meter();
  }
}

/**
 * Where the stated rules put each mark, worked out without running a stage:
 * resample sends input frame p of `total` to ceil(p × to / from), at most the
 * last of its round(total × to / from) frames; padded frames only add frames
 * at the end; every other stage keeps the frame. Undefined: no output at all.
 */
function expectedFrames(steps: readonly Step[], pcm: PcmChunk): number[] | undefined {
  let rate = pcm.sampleRate;
  let total = pcmFrames(pcm);
  let at = (pcm.marks ?? []).map((m) => m.frame);
  for (const s of steps) {
    if (s.stage === 'resample') {
      const out = Math.round((total * s.rate) / rate);
      at = at.map((p) => Math.min(Math.floor((p * s.rate + rate - 1) / rate), out - 1));
      total = out;
      rate = s.rate;
    } else if (s.stage === 'frames' && s.pad) {
      total = Math.ceil(total / s.samples) * s.samples;
    }
    if (total === 0) return undefined;
  }
  return at;
}

const markedInput = arbitraryMarkedPcm({ maxFrames: 1200, sampleRates: RATES, maxMarks: 8 }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm)));

describe('word marks through the core stages', () => {
  it('land on the same output sample for any chunking and any chain of resample, frames, mix, gain, fade, prebuffer and meter — the sample the rules name', async () => {
    await fc.assert(
      fc.asyncProperty(markedInput, fc.array(step, { minLength: 1, maxLength: 4 }), async ([pcm, chunks], steps) => {
        const landed = await marksLandAlike(() => steps.map(make), pcm, chunks, anyPcm);
        const expected = expectedFrames(steps, pcm);
        expect(landed.map((m) => m.at)).toEqual(expected ?? []);
      }),
      { numRuns: 60 },
    );
  });

  it('every stage alone keeps each mark on its sample (resample: the first output sample at or after the mark)', async () => {
    // 48 kHz → 16 kHz: input frames 0, 1, 2, 3 go to output frames 0, 1, 1, 1 (ceil(p / 3)); 300 → 100; 301 → 101.
    const pcm: PcmChunk = {
      sampleRate: 48000,
      channels: [new Float32Array(960).fill(0.25)],
      marks: [0, 1, 3, 300, 301, 959].map((frame, i) => ({ frame, duration: 0.2, text: `w${i}`, charStart: i, charEnd: i + 1 })),
    };
    for (const cuts of [[], [1, 2, 3, 4, 299, 300, 301, 302], [500]]) {
      const out = await runChain([resample({ rate: 16000 })], cutPcm(pcm, cuts), anyPcm);
      expect(landedMarks(out).map((m) => m.at)).toEqual([0, 1, 1, 100, 101, 319]);
      expect(pcmFrames(concatPcm(out))).toBe(320);
    }
    for (const stage of [() => frames({ samples: 7 }), () => mix({ channels: 2 }), () => gain({ db: -3 }), () => fade(), () => meter(), () => prebuffer() as TransformStage]) {
      const out = await runChain([stage()], cutPcm(pcm, [2, 301]), anyPcm);
      expect(landedMarks(out).map((m) => m.at)).toEqual([0, 1, 3, 300, 301, 959]);
    }
  });

  it('keep their text, character offsets and duration', async () => {
    const marks: WordMark[] = [{ frame: 10, duration: 0.31, text: 'naïve', charStart: 4, charEnd: 9 }];
    const out = await runChain([resample({ rate: 24000 }), frames({ samples: 5 })], [{ sampleRate: 16000, channels: [new Float32Array(100)], marks }], anyPcm);
    expect(landedMarks(out)).toEqual([{ at: 15, duration: 0.31, text: 'naïve', charStart: 4, charEnd: 9 }]);
  });

  it('are gone with the audio a fade-out stops before giving it', async () => {
    const f = fade({ inMs: 0, outMs: 1 });
    const ctx = testContext('fade');
    const stream = f.create(ctx, anyPcm);
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const marks = [5, 20, 400].map((frame, i) => ({ frame, duration: 0.1, text: `w${i}`, charStart: i, charEnd: i + 1 }));
    void writer.write({ sampleRate: 24000, channels: [new Float32Array(500)], marks }).catch(() => {});
    const first = await reader.read();
    ctx.control<FadeControl>()!.fadeOut();
    const out: PcmChunk[] = [first.value!];
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      out.push(next.value);
    }
    const given = out.reduce((n, c) => n + pcmFrames(c), 0);
    expect(landedMarks(out).map((m) => m.at)).toEqual([5, 20, 400].filter((at) => at < given));
    ctx.finish();
  });

  it('are dropped by pcmEncode: bytes carry none', async () => {
    const out = await runTransform(pcmEncode(), [{ sampleRate: 24000, channels: [new Float32Array(4)], marks: [{ frame: 1, duration: 0, text: 'a', charStart: 0, charEnd: 1 }] }], anyPcm);
    expect(out.every((bytes) => bytes instanceof Uint8Array)).toBe(true);
  });
});

describe('pcmDecode puts the run\'s words on their samples', () => {
  it('frame round(start × rate) for any chunking of the bytes, odd cuts included', async () => {
    const bytes = seededBytes(2 * 4000);
    const words = [0, 0.001, 0.04, 0.0415, 0.16].map((start, i) => ({ text: `w${i}`, start, end: start + 0.01, charStart: i, charEnd: i + 1 }));
    await fc.assert(
      fc.asyncProperty(bytePartitions(bytes), async (chunks) => {
        const ctx = testContext('pcmDecode');
        ctx.words.add(words);
        const out = await runTransform(pcmDecode({ sampleRate: 24000 }), chunks, { kind: 'bytes', container: 'pcm' }, ctx);
        expect(landedMarks(out).map((m) => m.at)).toEqual(words.map((w) => Math.round(w.start * 24000)));
      }),
      { numRuns: 50 },
    );
  });
});

describe('marks in the PCM helpers', () => {
  it('concatPcm, cutPcm, sliceMarks and PcmQueue keep each mark on its sample for any cuts', () => {
    fc.assert(
      fc.property(arbitraryMarkedPcm({ maxFrames: 300 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }), (pcm, cuts, takes) => {
        const want = landedMarks([pcm]);
        const pieces = cutPcm(pcm, cuts);
        expect(landedMarks(pieces)).toEqual(want);
        expect(landedMarks([concatPcm(pieces, pcm.sampleRate, pcm.channels.length)])).toEqual(want);
        const queue = new PcmQueue(pcm.channels.length, 4);
        for (const piece of pieces) queue.push(piece.channels, 0, pcmFrames(piece), piece.marks);
        const out: PcmChunk[] = [];
        for (let i = 0; queue.length > 0; i++) out.push(queue.takeChunk(takes[i % takes.length], pcm.sampleRate));
        expect(landedMarks(out)).toEqual(want);
        expect(sliceMarks(pcm.marks, 0, pcmFrames(pcm)) ?? []).toEqual(pcm.marks ?? []);
      }),
      { numRuns: 200 },
    );
  });
});
