import { ReadableStream, VoxpipeError, type Engine, type EngineVoice, type PcmChunk, type SynthesisRequest } from '@voxpipe/core';

export interface ToneEngineOptions {
  /** Rate of the PCM it gives. Default 24000. */
  sampleRate?: number;
  /** Audio per character of text, ms. Default 10. */
  msPerChar?: number;
}

/** A tone engine: an `Engine` that also says what it was asked and whether it was closed. */
export interface ToneEngine extends Engine {
  /** Every request it was given, in order. */
  readonly requests: readonly SynthesisRequest[];
  readonly closed: boolean;
}

const VOICES: readonly EngineVoice[] = [
  { id: 'en-us', language: 'en-US', gender: 'male' },
  { id: 'en-us+f3', language: 'en-US', gender: 'female' },
  { id: 'de', language: 'de-DE', gender: 'male' },
  { id: 'de+f3', language: 'de-DE', gender: 'female' },
];
const CHUNK_MS = 100;

/**
 * A tiny deterministic engine for tests that need a server but not speech:
 * a 440 Hz tone whose length follows the text (`msPerChar`), in 100 ms
 * chunks, with en-US and de-DE voices, and a `build` (its settings), so a
 * server sends ETags for its streams. No workers, no GPL engine; empty text
 * is a `bad-request`, and aborting the request's signal ends the stream.
 *
 * ```ts
 * const t = await startTestServer({ engine: toneEngine() });
 * ```
 */
export function toneEngine(options: ToneEngineOptions = {}): ToneEngine {
  const sampleRate = options.sampleRate ?? 24000;
  const msPerChar = options.msPerChar ?? 10;
  const requests: SynthesisRequest[] = [];
  let closed = false;
  return {
    name: 'tone',
    sampleRate,
    // Deterministic: the samples follow from the text's length and these settings alone.
    build: `tone/1 rate=${sampleRate} msPerChar=${msPerChar} chunkMs=${CHUNK_MS}`,
    voices: () => VOICES,
    get requests() {
      return requests;
    },
    get closed() {
      return closed;
    },
    async close() {
      closed = true;
    },
    synthesize(request) {
      requests.push(request);
      const total = Math.round((request.text.length * msPerChar * sampleRate) / 1000);
      const step = Math.round((CHUNK_MS * sampleRate) / 1000);
      let made = 0;
      return new ReadableStream<PcmChunk>({
        start(controller) {
          if (closed) controller.error(new VoxpipeError('server', 'The engine is closed'));
          else if (request.text.trim() === '') controller.error(new VoxpipeError('bad-request', 'There is no text to speak'));
        },
        pull(controller) {
          if (request.signal?.aborted) return controller.error(request.signal.reason);
          if (made >= total) return controller.close();
          const samples = new Float32Array(Math.min(step, total - made));
          for (let i = 0; i < samples.length; i++) samples[i] = 0.25 * Math.sin((2 * Math.PI * 440 * (made + i)) / sampleRate);
          made += samples.length;
          controller.enqueue({ sampleRate, channels: [samples] });
        },
      });
    },
  };
}
