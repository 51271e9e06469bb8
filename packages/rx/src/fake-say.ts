// Test helper (not exported): a Say whose audio is a known function of the text, given lazily chunk by chunk.
import { ReadableStream, type PcmChunk } from '@voxpipe/core';
import type { Say } from './utterance.js';

export const RATE = 24000;

/** The samples `fakeSay` says for `text`: 40 per character, never zero. */
export function samplesOf(text: string): Float32Array {
  const out = new Float32Array(text.length * 40);
  for (let i = 0; i < out.length; i++) out[i] = 0.2 + ((text.charCodeAt(Math.floor(i / 40)) + i) % 50) / 100;
  return out;
}

export interface FakeCall {
  utterance: string;
  signal: AbortSignal;
  cancelled: boolean;
  /** Chunks it gave. */
  given: number;
  finished: boolean;
}

/** A fake speech service: each chunk after a macrotask; records calls, aborts and cancels. */
export function fakeSay(chunkFrames = 100): { say: Say<string>; calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const say: Say<string> = (utterance, signal) => {
    const call: FakeCall = { utterance, signal, cancelled: false, given: 0, finished: false };
    calls.push(call);
    const samples = samplesOf(utterance);
    let position = 0;
    return new ReadableStream<PcmChunk>(
      {
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (signal.aborted) return controller.error(signal.reason);
          if (position >= samples.length) {
            call.finished = true;
            return controller.close();
          }
          controller.enqueue({ sampleRate: RATE, channels: [samples.slice(position, position + chunkFrames)] });
          position += chunkFrames;
          call.given++;
        },
        cancel() {
          call.cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
  };
  return { say, calls };
}
