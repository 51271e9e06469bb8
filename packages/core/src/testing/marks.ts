import fc from 'fast-check';
import { compose } from '../compose.js';
import type { Format } from '../format.js';
import { pcmFrames, type PcmChunk, type WordMark } from '../pcm/pcm.js';
import type { TransformStage } from '../stage.js';
import { arbitraryPcm } from './arbitraries.js';
import { runTransform, testContext } from './harness.js';

/** A word mark where it landed: its frame counted from the first sample of the whole output (`at`). */
export interface LandedMark extends Omit<WordMark, 'frame'> {
  at: number;
}

/**
 * Every mark of `chunks` on its frame counted from the first sample of the
 * first chunk, in order. Throws when a mark sits outside its chunk
 * (0 ≤ frame < frames) or marks are out of order.
 *
 * ```ts
 * const out = await runTransform(myStage(), cutPcm(marked, [100, 250]), anyPcm);
 * expect(landedMarks(out).map((m) => m.at)).toEqual([0, 480]);
 * ```
 */
export function landedMarks(chunks: readonly PcmChunk[]): LandedMark[] {
  const out: LandedMark[] = [];
  let offset = 0;
  chunks.forEach((chunk, index) => {
    const frames = pcmFrames(chunk);
    let previous = -1;
    for (const { frame, ...mark } of chunk.marks ?? []) {
      if (!Number.isInteger(frame) || frame < 0 || frame >= frames) throw new Error(`chunk ${index} (${frames} frames) has the mark "${mark.text}" on frame ${frame}`);
      if (frame < previous) throw new Error(`chunk ${index} has its marks out of order ("${mark.text}" on frame ${frame} after frame ${previous})`);
      previous = frame;
      out.push({ ...mark, at: offset + frame });
    }
    offset += frames;
  });
  return out;
}

/**
 * Random PCM (as `arbitraryPcm`) with up to `maxMarks` word marks on random
 * frames, in order, each its own word (`w0`, `w1` …, charStart = 3 × index).
 */
export function arbitraryMarkedPcm(options: Parameters<typeof arbitraryPcm>[0] & { maxMarks?: number } = {}): fc.Arbitrary<PcmChunk> {
  return arbitraryPcm(options).chain((pcm) => {
    const frames = pcmFrames(pcm);
    if (frames === 0) return fc.constant(pcm);
    return fc.array(fc.integer({ min: 0, max: frames - 1 }), { maxLength: options.maxMarks ?? 8 }).map((at) => {
      const marks = [...at].sort((a, b) => a - b).map((frame, i): WordMark => ({ frame, duration: 0.1, text: `w${i}`, charStart: 3 * i, charEnd: 3 * i + 2 }));
      return marks.length > 0 ? { ...pcm, marks } : pcm;
    });
  });
}

/** Runs `stages` one after another (a fresh run of each) over `chunks` and returns what the last gave. */
export async function runChain(stages: readonly TransformStage[], chunks: readonly PcmChunk[], format: Format): Promise<PcmChunk[]> {
  const chain = stages.length === 1 ? stages[0] : compose(...stages);
  return (await runTransform(chain as TransformStage<PcmChunk, PcmChunk>, chunks, format, testContext(chain.name))) as PcmChunk[];
}

/**
 * Property for any stage or chain of stages that gives PCM: each word mark
 * lands on the same output sample whatever the chunking. Runs a fresh chain
 * (`makeStages()`) over `pcm` as one chunk and over `chunks` (any partition of
 * it, e.g. from `pcmPartitions`), and throws unless both give the same marks
 * on the same samples, each inside its chunk, in the order of the input, and
 * none lost (a mark may be lost only when the output has no sample at all).
 * Returns where they landed, for checks of your own.
 *
 * ```ts
 * await fc.assert(fc.asyncProperty(arbitraryMarkedPcm().chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
 *   ([pcm, chunks]) => marksLandAlike(() => [myStage(), resample({ rate: 16000 })], pcm, chunks).then(() => {})));
 * ```
 */
export async function marksLandAlike(makeStages: () => readonly TransformStage[], pcm: PcmChunk, chunks: readonly PcmChunk[], format: Format = { kind: 'pcm' }): Promise<LandedMark[]> {
  const wholeOut = await runChain(makeStages(), pcmFrames(pcm) === 0 ? [] : [pcm], format);
  const cutOut = await runChain(makeStages(), chunks, format);
  const whole = landedMarks(wholeOut);
  const cut = landedMarks(cutOut);
  const describe = (marks: readonly LandedMark[]) => marks.map((m) => `${m.text}@${m.at}`).join(' ') || '(none)';
  if (describe(whole) !== describe(cut) || JSON.stringify(whole) !== JSON.stringify(cut)) {
    throw new Error(`marks land differently for ${chunks.length} chunk(s) (${chunks.map(pcmFrames).join(', ')} frames) than for one: ${describe(cut)} against ${describe(whole)}`);
  }
  const given = pcm.marks ?? [];
  const outFrames = wholeOut.reduce((n, chunk) => n + pcmFrames(chunk), 0);
  if (outFrames > 0 && whole.length !== given.length) throw new Error(`${given.length} mark(s) went in, ${whole.length} came out: ${describe(whole)}`);
  whole.forEach((mark, i) => {
    if (mark.text !== given[i].text || mark.charStart !== given[i].charStart) throw new Error(`marks came out of order: ${describe(whole)}`);
  });
  return whole;
}
