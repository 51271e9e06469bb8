// Helpers shared by this package's tests (not exported from the package).
import type { PcmChunk, WordMark } from '@voxpipe/core';

export interface Heard {
  samples: Float32Array;
  chunks: number;
  seconds: number;
  rate: number;
  /** Every mark, its frame counted from the start of the audio. */
  marks: WordMark[];
  /** Marks outside their chunk (frame < 0 or ≥ the chunk's frames). */
  misplaced: number;
}

/** Reads a stream to its end and joins the audio. */
export async function readAll(stream: ReadableStream<PcmChunk>): Promise<Heard> {
  const parts: Float32Array[] = [];
  const marks: WordMark[] = [];
  let misplaced = 0;
  let rate = 0;
  let at = 0;
  for await (const chunk of stream) {
    if (chunk.channels.length !== 1) throw new Error(`expected mono, got ${chunk.channels.length} channels`);
    rate = chunk.sampleRate;
    parts.push(chunk.channels[0]);
    for (const mark of chunk.marks ?? []) {
      if (!(mark.frame >= 0 && mark.frame < chunk.channels[0].length)) misplaced++;
      marks.push({ ...mark, frame: at + mark.frame });
    }
    at += chunk.channels[0].length;
  }
  const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    samples.set(part, offset);
    offset += part.length;
  }
  return { samples, chunks: parts.length, seconds: rate ? samples.length / rate : 0, rate, marks, misplaced };
}

/** Root mean square of the samples. */
export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** True when both arrays hold exactly the same samples. */
export function sameSamples(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The rejection of a promise (fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export const LONG_TEXT =
  'The quick brown fox jumps over the lazy dog, and then it runs away into the forest where nobody can find it again. ' +
  'Meanwhile the farmer counts his chickens one by one, wondering whether the fox will ever come back to the farm. ' +
  'In the evening the wind rises, the lights go out in the village, and everybody goes to sleep early.';
