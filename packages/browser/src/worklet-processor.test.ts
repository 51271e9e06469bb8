// The worklet processor's ring logic, run in Node: PROCESSOR_SOURCE is
// evaluated against a stand-in AudioWorkletProcessor and driven quantum by
// quantum, with the main thread's real RingWriter (shared or message) feeding
// it under backpressure. Chromium runs the same code in test/browser.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from '@voxpipe/core';
import { messageRing, sharedRing, type RingWriter } from './ring-writer.js';
import { PROCESSOR_SOURCE, type ProcessorMessage, type ProcessorOptions } from './worklet-processor.js';
import { audioWorkletSink } from './audio-worklet-sink.js';

interface FakeProcessor {
  port: { onmessage: ((event: { data: unknown }) => void) | null; postMessage(m: unknown): void };
  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean;
}

/** Evaluates the processor source with stand-ins for the AudioWorkletGlobalScope. */
function processorClass(): new (options: { processorOptions: ProcessorOptions }) => FakeProcessor {
  let registered: unknown;
  class AudioWorkletProcessor {
    readonly sent: ProcessorMessage[] = [];
    readonly port = { onmessage: null as ((event: { data: unknown }) => void) | null, postMessage: (m: ProcessorMessage) => void this.sent.push(m) };
  }
  new Function('AudioWorkletProcessor', 'registerProcessor', 'currentFrame', PROCESSOR_SOURCE)(AudioWorkletProcessor, (_: string, c: unknown) => (registered = c), 0);
  return registered as new (options: { processorOptions: ProcessorOptions }) => FakeProcessor;
}
const Processor = processorClass();

/** A processor, the writer feeding it, and a way to render quanta. */
function rig(options: { shared: boolean; capacity: number; prebufferFrames: number; rebufferFrames?: number; channels?: number }) {
  const channels = options.channels ?? 1;
  const ring = options.shared ? sharedRing(channels, options.capacity) : undefined;
  const processor = new Processor({
    processorOptions: { channels, capacity: options.capacity, prebufferFrames: options.prebufferFrames, rebufferFrames: options.rebufferFrames ?? 0, reportFrames: 256, shared: ring?.buffers },
  });
  const sent = (processor as unknown as { sent: ProcessorMessage[] }).sent;
  const port = { postMessage: (data: unknown) => processor.port.onmessage!({ data }) } as unknown as MessagePort;
  const writer: RingWriter = ring ? ring.writer : messageRing(port, channels, options.capacity);
  let seen = 0;
  const output: number[][] = Array.from({ length: channels }, () => []);
  return {
    processor,
    writer,
    sent,
    output,
    send: (data: unknown) => processor.port.onmessage!({ data }),
    /** Renders one 128-frame quantum and passes the processor's reports to the writer, as the sink does. */
    render(): Float32Array[] {
      const out = Array.from({ length: channels }, () => new Float32Array(128));
      processor.process([], [out]);
      out.forEach((samples, c) => output[c].push(...samples));
      for (; seen < sent.length; seen++) writer.consumed(sent[seen].played);
      return out;
    },
    has: (type: ProcessorMessage['type']) => sent.some((m) => m.type === type),
  };
}

/** Non-zero test audio, so leading prebuffer silence can be told apart. */
const audio = (frames: number, seed: number) => Float32Array.from({ length: frames }, (_, i) => 0.1 + 0.8 * Math.abs(Math.sin(seed + i * 0.37)));

describe('the worklet ring processor', () => {
  it('plays every frame once, in order, for any chunking, prebuffer and ring size, shared or posted (backpressure included)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 1500 }),
        fc.integer({ min: 0, max: 2000 }),
        (shared, frames, sizes, prebufferFrames, extra) => {
          const input = audio(frames, sizes[0]);
          const r = rig({ shared, capacity: prebufferFrames + 1024 + extra + 1, prebufferFrames });
          let offset = 0;
          for (let i = 0; offset < frames; i++) {
            let left = Math.min(sizes[i % sizes.length], frames - offset);
            while (left > 0) {
              const free = r.writer.free();
              if (free <= 0) {
                r.render();
                continue;
              }
              const n = Math.min(free, left);
              r.writer.write([input], offset, n);
              offset += n;
              left -= n;
            }
          }
          r.send({ type: 'end' });
          for (let q = 0; !r.has('drained'); q++) {
            if (q > 200) throw new Error('never drained');
            r.render();
          }
          const out = r.output[0];
          const start = out.findIndex((v) => v !== 0);
          const played = start < 0 ? [] : out.slice(start, start + frames);
          expect(Float32Array.from(played)).toEqual(input);
          expect(out.slice(start < 0 ? 0 : start + frames).every((v) => v === 0)).toBe(true);
          expect(r.has('warning')).toBe(false); // the writer never overfilled the ring
          expect(r.sent.find((m) => m.type === 'drained')!.played).toBe(frames);
          expect(r.has('underrun')).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stop fades with a raised cosine over exactly fadeFrames, then silence; reports the frames played', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 20 }), (shared, fadeFrames, quantaBefore) => {
        const r = rig({ shared, capacity: 20000, prebufferFrames: 0 });
        r.writer.write([new Float32Array(10000).fill(0.5)], 0, 10000);
        for (let q = 0; q < quantaBefore; q++) r.render();
        r.send({ type: 'stop', fadeFrames });
        for (let q = 0; !r.has('stopped'); q++) {
          if (q > 100) throw new Error('never stopped');
          r.render();
        }
        for (let q = 0; q < 3; q++) r.render(); // silence after
        const before = quantaBefore * 128;
        const out = r.output[0];
        expect(out.slice(0, before).every((v) => v === 0.5)).toBe(true);
        let previous = 1;
        for (let k = 0; k < fadeFrames; k++) {
          const g = out[before + k] / 0.5;
          expect(g).toBeLessThanOrEqual(previous);
          expect(previous - g).toBeLessThanOrEqual(Math.PI / (2 * fadeFrames) + 1e-6);
          previous = g;
        }
        expect(previous).toBe(0);
        expect(out.slice(before + fadeFrames).every((v) => v === 0)).toBe(true);
        expect(r.sent.find((m) => m.type === 'stopped')!.played).toBe(before + fadeFrames);
        expect(r.sent.find((m) => m.type === 'stopped')!.buffered).toBe(0); // flushed
      }),
      { numRuns: 60 },
    );
  });

  it('reports one underrun per starvation, and with rebuffering waits for rebufferFrames before playing on', () => {
    const r = rig({ shared: false, capacity: 4096, prebufferFrames: 256, rebufferFrames: 512 });
    r.writer.write([audio(300, 1)], 0, 300);
    for (let q = 0; q < 6; q++) r.render();
    expect(r.sent.filter((m) => m.type === 'underrun')).toHaveLength(1);
    expect(r.has('buffering')).toBe(true);
    r.writer.write([audio(400, 2)], 0, 400); // below 512: keeps waiting
    r.render();
    const waiting = r.output[0].length;
    expect(r.has('playing')).toBe(false);
    r.writer.write([audio(200, 3)], 0, 200); // 600 ≥ 512: plays on
    r.render();
    expect(r.has('playing')).toBe(true);
    expect(r.output[0].slice(waiting - 128, waiting).every((v) => v === 0)).toBe(true);
    expect(r.output[0].slice(waiting, waiting + 128).every((v) => v !== 0)).toBe(true);
  });

  it('stop while still prebuffering ends at once with nothing played', () => {
    const r = rig({ shared: true, capacity: 4096, prebufferFrames: 2000 });
    r.writer.write([audio(500, 1)], 0, 500);
    r.render();
    r.send({ type: 'stop', fadeFrames: 100 });
    expect(r.sent.at(-1)).toMatchObject({ type: 'stopped', played: 0, buffered: 0 });
    expect(r.output[0].every((v) => v === 0)).toBe(true);
  });
});

describe('audioWorkletSink options', () => {
  it('bad options are a bad-request VoxpipeError naming the option', () => {
    for (const bad of [{ prebufferMs: -1 }, { channels: 0 }, { transport: 'pigeon' }, { bufferMs: 1 }, { context: {} }, { nope: 1 }]) {
      let error: unknown;
      try {
        audioWorkletSink(bad as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('bad-request');
      expect((error as VoxpipeError).message).toContain('audioWorkletSink');
    }
  });

  it('writes its settings as JSON (no context or destination in the spec)', () => {
    const sink = audioWorkletSink({ prebufferMs: 250, rebuffer: true, channels: 2 });
    expect(JSON.parse(JSON.stringify(sink.spec))).toEqual({
      stage: 'audioWorkletSink',
      options: { prebufferMs: 250, jitter: 'adaptive', rebuffer: true, volume: 1, bufferMs: 2000, quality: 'high', transport: 'auto', abortFadeMs: 10, channels: 2 },
    });
    expect(audioWorkletSink(sink.spec!.options as never).spec).toEqual(sink.spec);
  });
});

describe('browserStages', () => {
  it('rebuilds the sinks from their specs', async () => {
    const { browserStages } = await import('./registry.js');
    for (const stage of [audioWorkletSink({ prebufferMs: 80 }), browserStages.mediaSourceSink({ maxAheadSeconds: 12 })]) {
      expect(browserStages[stage.spec!.stage](stage.spec!.options).spec).toEqual(stage.spec);
    }
  });
});
