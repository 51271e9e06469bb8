// Internal: `word` events for sinks that write rather than play.
import { pcmFrames, WordTimeline, type PcmChunk, type StageContext } from '@voxpipe/core';

/**
 * For a sink that writes audio (a file, a pipe): call it after each chunk is
 * written, and each word whose first sample the chunk holds is reported as a
 * `word` event then — written is as far as such a sink plays.
 *
 * ```ts
 * const written = writtenWords(ctx);
 * await file.write(bytes); written(chunk);
 * ```
 */
export function writtenWords(ctx: StageContext): (chunk: PcmChunk) => void {
  const words = new WordTimeline();
  let frames = 0;
  return (chunk) => {
    const rate = chunk.sampleRate;
    words.add(chunk.marks, frames / rate, rate);
    frames += pcmFrames(chunk);
    for (const word of words.started(frames / rate)) ctx.emit('word', word);
    words.heard(frames / rate);
  };
}
