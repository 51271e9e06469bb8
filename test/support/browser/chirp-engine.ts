// A speech-engine stand-in for browser tests: every request "speaks" a known
// chirp (msPerChar of audio per character of text) at 24 kHz, in 40 ms
// pieces, paced `pace` times faster than real time, and counts requests that
// were cut short — so a test knows the exact audio and whether the server
// saw the client stop.
import type { Engine, EngineVoice, PcmChunk } from '../../../packages/core/src/index.js';
import { chirp } from './signals.js';

export interface ChirpEngine extends Engine {
  /** Syntheses started, and those stopped early (stream cancelled or signal aborted). */
  readonly stats: { started: number; cut: number; finished: number };
  /** Change pacing between requests (times faster than real time). */
  readonly settings: { pace: number };
  /** The exact samples a text gives. */
  samplesFor(text: string): Float32Array;
}

const RATE = 24000;
const VOICES: EngineVoice[] = [
  { id: 'chirp+m3', language: 'en-US', gender: 'male' },
  { id: 'chirp+f3', language: 'en-US', gender: 'female' },
];

export function chirpEngine(options: { msPerChar?: number; pace?: number; pieceMs?: number } = {}): ChirpEngine {
  const { msPerChar = 40, pace = 4, pieceMs = 40 } = options;
  const stats = { started: 0, cut: 0, finished: 0 };
  const settings = { pace };
  const samplesFor = (text: string) => chirp(Math.round((text.length * msPerChar * RATE) / 1000), RATE);
  return {
    name: 'chirp',
    sampleRate: RATE,
    stats,
    settings,
    samplesFor,
    voices: () => VOICES,
    synthesize({ text, signal }) {
      stats.started++;
      const all = samplesFor(text);
      const piece = Math.round((pieceMs * RATE) / 1000);
      let at = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let over = false;
      const cut = () => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        stats.cut++;
      };
      signal?.addEventListener('abort', cut, { once: true });
      return new ReadableStream<PcmChunk>({
        async pull(controller) {
          if (over) return;
          if (at >= all.length) {
            over = true;
            stats.finished++;
            signal?.removeEventListener('abort', cut);
            return controller.close();
          }
          if (at > 0) await new Promise<void>((resolve) => (timer = setTimeout(resolve, pieceMs / settings.pace)));
          if (over) return;
          const end = Math.min(all.length, at + piece);
          controller.enqueue({ sampleRate: RATE, channels: [all.slice(at, end)] });
          at = end;
        },
        cancel: cut,
      });
    },
    async close() {},
  };
}
