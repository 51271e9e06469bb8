// The worklet processor's gain envelope, in Node: whatever the delivery gaps
// (underruns), pauses, resumes and volume changes, every frame is read once,
// and the output never steps: an underrun glides to silence and fades back,
// a pause fades out and in, a volume change glides. The browser tests hear
// the same in Chromium and Firefox.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pieceFeeder, processorClass } from './testing/playout.js';

const Processor = processorClass();
const RATE = 24000;

describe('the worklet output envelope', () => {
  it('for any gaps, pauses and volume changes: every frame read once, no step larger than the signal’s own plus a 5 ms raised cosine’s', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ frames: fc.integer({ min: 1, max: 3000 }), gapQuanta: fc.integer({ min: 0, max: 12 }) }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.record({ atQuantum: fc.integer({ min: 0, max: 200 }), action: fc.constantFrom('pause', 'resume', 'volume'), volume: fc.double({ min: 0, max: 2, noNaN: true }) }), { maxLength: 8 }),
        fc.boolean(),
        (pieces, actions, adaptive) => {
          const total = pieces.reduce((n, p) => n + p.frames, 0);
          const signal = Float32Array.from({ length: total }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 300 * i) / RATE));
          const ramp = 120;
          const p = new Processor({
            processorOptions: {
              channels: 1, capacity: total + 8192, prebufferFrames: 256, rebufferFrames: 0, rampFrames: ramp, volumeFrames: 240, reportFrames: 1 << 30,
              jitter: { adaptive, prebufferFrames: 256, rebufferFrames: 0, minFrames: 256, maxFrames: 4800, decayFrames: 48000, marginFrames: 2400 },
            },
          });
          p.port.postMessage = () => {};
          const send = (data: unknown) => p.port.onmessage!({ data });
          const output: number[] = [];
          const out = [new Float32Array(128)];
          const feed = pieceFeeder(send, signal, pieces);
          let gain = 1;
          let paused = false;
          for (let q = 0; q < 100_000 && (p.played < total || paused); q++) {
            for (const a of actions) {
              if (a.atQuantum !== q) continue;
              if (a.action === 'volume') send({ type: 'volume', volume: (gain = a.volume) });
              else if (a.action === 'pause') (send({ type: 'pause' }), (paused = true));
              else (send({ type: 'resume' }), (paused = false));
            }
            if (q > 250 && paused) (send({ type: 'resume' }), (paused = false));
            feed();
            out[0].fill(0);
            p.process([], [out]);
            output.push(...out[0]);
          }
          expect(p.played).toBe(total); // every frame read once (reading is in order by construction of the ring)
          const signalStep = (2 * Math.PI * 300 * 0.5) / RATE;
          const rampStep = (Math.PI / (2 * ramp)) * 0.5; // a raised cosine's steepest slope times the signal's peak
          const volumeStep = (Math.max(1, gain, ...actions.map((a) => a.volume)) * 1) / 240; // the one-pole glide's largest step at the signal's peak
          const bound = Math.max(1, ...actions.map((a) => a.volume)) * (signalStep + rampStep) + volumeStep;
          let steepest = 0;
          let started = output.findIndex((v) => v !== 0);
          let last = output.length - 1;
          while (last > 0 && output[last] === 0) last--;
          for (let i = Math.max(1, started + 1); i <= last; i++) steepest = Math.max(steepest, Math.abs(output[i] - output[i - 1]));
          expect(steepest).toBeLessThanOrEqual(bound + 1e-6);
        },
      ),
      { numRuns: 60 },
    );
  });
});
