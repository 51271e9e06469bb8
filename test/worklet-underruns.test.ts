// What an underrun puts into the worklet sink's output, in Node (the
// processor's own code, quantum by quantum): a glide of the last sample to
// silence and silence after it, nothing else — however soon the audio comes
// back, the very next quantum included (a main thread late under load
// delivers a burst just after the ring ran dry). Taken out with the browser
// tests' own measure (withoutUnderruns), the output is the stream, every
// sample once, in order, changed only by each fade-in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pieceFeeder, processorClass } from '../packages/browser/src/testing/playout.js';
import { withoutUnderruns } from './support/browser/signals.js';

const Processor = processorClass();
const RAMP = 120;

type Piece = { frames: number; gapQuanta: number };

/** Plays the pieces (each delivered, then `gapQuanta` quanta with nothing) through the adaptive sink's processor. */
function play(pieces: Piece[], seed: number) {
  const total = pieces.reduce((n, p) => n + p.frames, 0);
  // Never near silence (no pause to hold or trim) and steep between samples (no run of it looks like a glide).
  const signal = Float32Array.from({ length: total }, (_, i) => 0.1 + 0.8 * Math.abs(Math.sin(seed + i * 0.37)));
  const p = new Processor({
    processorOptions: {
      channels: 1, capacity: total + 8192, prebufferFrames: 256, rebufferFrames: 0, rampFrames: RAMP, reportFrames: 1 << 30,
      jitter: { adaptive: true, prebufferFrames: 256, rebufferFrames: 0, minFrames: 256, maxFrames: 4800, decayFrames: 48000, marginFrames: 2400 },
    },
  });
  const underrunsAt: number[] = [];
  p.port.postMessage = (m: { type: string; played: number }) => void (m.type === 'underrun' && underrunsAt.push(m.played));
  const send = (data: unknown) => p.port.onmessage!({ data });
  const output: number[] = [];
  const out = [new Float32Array(128)];
  const feed = pieceFeeder(send, signal, pieces);
  for (let q = 0; q < 100_000 && p.played < total; q++) {
    feed();
    out[0].fill(0);
    p.process([], [out]);
    output.push(...out[0]);
  }
  for (let q = 0; q < 2; q++) output.push(...new Float32Array(128)); // the silence after the end
  return { signal, output: Float32Array.from(output), underrunsAt, played: p.played };
}

describe('the worklet sink through underruns', () => {
  it('puts in only a glide to silence and silence: taken out, the output is the stream, every sample once, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ frames: fc.integer({ min: 1, max: 3000 }), gapQuanta: fc.integer({ min: 0, max: 12 }) }), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0, max: 6, noNaN: true }),
        (pieces, seed) => {
          const { signal, output, underrunsAt, played } = play(pieces, seed);
          expect(played).toBe(signal.length);
          const heard = withoutUnderruns(output, RAMP);
          expect(heard.length).toBe(signal.length);
          // Each fade-in (the ramp's frames from where the audio went on) is the one place a sample differs from the stream's.
          const fading = (i: number) => underrunsAt.some((at) => i >= at && i < at + RAMP);
          for (let i = 0; i < signal.length; i++) if (heard[i] !== signal[i]) expect(fading(i), `sample ${i}`).toBe(true);
        },
      ),
      {
        numRuns: 80,
        examples: [
          // The ring runs dry exactly where a quantum ends, and a burst brings the audio back in the next one.
          [[{ frames: 384, gapQuanta: 3 }, { frames: 3000, gapQuanta: 0 }], 1],
          // Dry part-way through a quantum, back in the next: the glide is cut there and its tail mixed under the fade-in.
          [[{ frames: 300, gapQuanta: 3 }, { frames: 3000, gapQuanta: 0 }], 2],
        ],
      },
    );
  });
});
