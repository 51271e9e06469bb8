/**
 * Planar float32 audio, like Web Audio and mpg123-decoder: one Float32Array
 * per channel, all the same length, samples in [-1, 1].
 */
export interface PcmChunk {
  sampleRate: number;
  channels: Float32Array[];
  /**
   * Words that start in this chunk, each on the sample where it starts, in
   * order. Every stage that changes time (resample, frames, mix, prebuffer,
   * fade …) keeps each mark on its sample, whatever the chunking.
   */
  marks?: readonly WordMark[];
}

/**
 * A word of the spoken text, placed on the sample (frame) of its chunk where
 * it starts. `text.slice(charStart, charEnd)` of the request's text is the
 * word as written (UTF-16 offsets), so captions and heard text are in the
 * writer's own words.
 */
export interface WordMark {
  /** The frame in its chunk where the word's first sample is: 0 ≤ frame < frames. */
  frame: number;
  /** How long the word lasts, in seconds (it may end in a later chunk). */
  duration: number;
  /** The word as written. */
  text: string;
  /** UTF-16 offset of the word's first character in the request's text. */
  charStart: number;
  /** UTF-16 offset just after the word's last character. */
  charEnd: number;
  /**
   * The text the offsets index, as far as it was known when the mark was
   * made (`speak`: the answer so far), when the stage that made the mark has
   * it. Sinks use it to report the heard text as a prefix of it.
   */
  written?: string;
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

/** Joins chunks of one rate and channel count into one chunk; each mark keeps its sample (its frame is moved by where its chunk starts). */
export function concatPcm(chunks: readonly PcmChunk[], sampleRate?: number, channelCount?: number): PcmChunk {
  const rate = sampleRate ?? chunks[0]?.sampleRate ?? 24000;
  const count = channelCount ?? chunks[0]?.channels.length ?? 1;
  let total = 0;
  for (const chunk of chunks) total += pcmFrames(chunk);
  const out = silence(rate, count, total);
  let marks: WordMark[] | undefined;
  let offset = 0;
  for (const chunk of chunks) {
    for (let c = 0; c < count; c++) out.channels[c].set(chunk.channels[c], offset);
    if (chunk.marks && chunk.marks.length > 0) (marks ??= []).push(...shiftMarks(chunk.marks, offset));
    offset += pcmFrames(chunk);
  }
  if (marks) out.marks = marks;
  return out;
}

/** The marks with their frames moved by `by` (a chunk's marks placed in a longer run of audio). */
export function shiftMarks(marks: readonly WordMark[], by: number): WordMark[] {
  return marks.map((mark) => ({ ...mark, frame: mark.frame + by }));
}

/**
 * The marks on frames `from` ≤ frame < `to`, moved so that `from` is frame 0
 * (the marks of a slice of a chunk); undefined when there are none.
 */
export function sliceMarks(marks: readonly WordMark[] | undefined, from: number, to: number): WordMark[] | undefined {
  if (!marks) return undefined;
  let out: WordMark[] | undefined;
  for (const mark of marks) if (mark.frame >= from && mark.frame < to) (out ??= []).push(from === 0 ? mark : { ...mark, frame: mark.frame - from });
  return out;
}

/**
 * `chunk` with `marks` attached when there are any — the one way stages give
 * a chunk they made from marked input, so unmarked chunks keep their shape.
 */
export function withMarks(chunk: PcmChunk, marks: readonly WordMark[] | undefined): PcmChunk {
  if (marks && marks.length > 0) chunk.marks = marks;
  return chunk;
}

/**
 * A queuing strategy that measures PCM in milliseconds, so a stream's
 * `highWaterMark` reads as audio time.
 */
export function pcmTimeStrategy(highWaterMarkMs: number): QueuingStrategy<PcmChunk> {
  return { highWaterMark: highWaterMarkMs, size: pcmDurationMs };
}
