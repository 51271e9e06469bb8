/**
 * Planar float32 audio, like Web Audio and mpg123-decoder: one Float32Array
 * per channel, all the same length, samples in [-1, 1].
 */
export interface PcmChunk {
  sampleRate: number;
  channels: Float32Array[];
}

/** Samples per channel in a chunk. */
export function pcmFrames(chunk: PcmChunk): number {
  return chunk.channels.length === 0 ? 0 : chunk.channels[0].length;
}

/** Duration of a chunk in milliseconds. */
export function pcmDurationMs(chunk: PcmChunk): number {
  return (pcmFrames(chunk) * 1000) / chunk.sampleRate;
}

/** A chunk of `frames` samples of silence. */
export function silence(sampleRate: number, channelCount: number, frames: number): PcmChunk {
  const channels: Float32Array[] = [];
  for (let c = 0; c < channelCount; c++) channels.push(new Float32Array(frames));
  return { sampleRate, channels };
}

/** Joins chunks of one rate and channel count into one chunk. */
export function concatPcm(chunks: readonly PcmChunk[], sampleRate?: number, channelCount?: number): PcmChunk {
  const rate = sampleRate ?? chunks[0]?.sampleRate ?? 24000;
  const count = channelCount ?? chunks[0]?.channels.length ?? 1;
  let total = 0;
  for (const chunk of chunks) total += pcmFrames(chunk);
  const out = silence(rate, count, total);
  let offset = 0;
  for (const chunk of chunks) {
    for (let c = 0; c < count; c++) out.channels[c].set(chunk.channels[c], offset);
    offset += pcmFrames(chunk);
  }
  return out;
}

/**
 * A queuing strategy that measures PCM in milliseconds, so a stream's
 * `highWaterMark` reads as audio time.
 */
export function pcmTimeStrategy(highWaterMarkMs: number): QueuingStrategy<PcmChunk> {
  return { highWaterMark: highWaterMarkMs, size: pcmDurationMs };
}
