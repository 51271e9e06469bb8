import { anyPcm, transformStage, type PcmChunk, type TransformStage } from '@voxpipe/core';
import type { StreamWords } from './stream-words.js';

/**
 * Hands each chunk of the engine's PCM on unchanged, and its word marks to
 * `words` (then tells it when the PCM ends). Put it before the stages that
 * encode, where the marks still sit on the engine's own samples: the
 * with-timestamps route reads its words there.
 *
 * ```ts
 * const words = new StreamWords('pcm', engine.sampleRate);
 * audioBytes(engine, audio, { signal, tap: wordTap(words) });
 * ```
 */
export function wordTap(words: StreamWords): TransformStage<PcmChunk, PcmChunk> {
  return transformStage<PcmChunk, PcmChunk>({
    name: 'wordTap',
    takes: anyPcm,
    gives: (input) => input,
    synchronous: true,
    transformer: () => ({
      transform(chunk, controller) {
        words.add(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        words.end();
      },
    }),
  });
}
