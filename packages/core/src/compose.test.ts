import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from './errors.js';
import { anyPcm, type Format } from './format.js';
import { assemble, assembleFromSpec, compose, createContext, coreStages, fade, fromIterable, frames, gain, mix, openSource, pcmEncode, pipeline, transformStage, type PcmChunk, type SourceStage, type TransformStage } from './index.js';
import { collect } from './sinks/collect.js';
import { tone } from './sources/tone.js';
import { ReadableStream } from './streams.js';
import { arbitraryPcm, joinBytes, pcmPartitions } from './testing/arbitraries.js';
import { settleTurns } from './testing/harness.js';
import { trackedStage } from './testing/tracked-stage.js';
import { endlessSource } from './testing/endless-source.js';

/** The chain every grouping is checked against: time-changing and format-changing stages, PCM in, bytes out. */
const chain = (): TransformStage[] => [gain({ db: -6 }), frames({ samples: 37 }), mix({ channels: 1 }), fade({ inMs: 1, outMs: 2 }), pcmEncode()];

/** Groups `stages` at `cuts` (indices where a new group starts); each group of more than one stage becomes a composite, nested once more when `nest`. */
function grouped(stages: TransformStage[], cuts: number[], nest: boolean): TransformStage[] {
  const starts = [...new Set([0, ...cuts.filter((c) => c > 0 && c < stages.length)])].sort((a, b) => a - b);
  return starts.map((start, i) => {
    const group = stages.slice(start, starts[i + 1] ?? stages.length);
    if (group.length === 1) return group[0];
    return nest ? compose(group[0], compose(...group.slice(1))) : compose(...group);
  });
}

async function bytesOf(source: SourceStage, stages: TransformStage[]): Promise<Uint8Array> {
  const { value } = await pipeline(source, ...stages, collect({ kind: 'bytes' })).done;
  return joinBytes(value!.chunks as Uint8Array[]);
}

const pcmSource = (parts: PcmChunk[], format: Format) => fromIterable(parts, { format });

describe('compose and assemble', () => {
  it('property: any grouping into composites, nested or not, and any split of the input give the bytes of the flat pipeline', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryPcm({ maxFrames: 400, maxChannels: 2, sampleRates: [8000, 24000] }).chain((pcm) => fc.tuple(fc.constant(pcm), pcmPartitions(pcm))),
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        async ([pcm, parts], cuts, nest, intoSource) => {
          const format: Format = { kind: 'pcm', sampleRate: pcm.sampleRate, channels: pcm.channels.length };
          const flat = await bytesOf(pcmSource([pcm], format), chain());
          const stages = grouped(chain(), cuts, nest);
          // Some leading stages go into the source instead: assemble(source, …) without a sink is a source.
          const source = assemble(pcmSource(parts, format), ...stages.slice(0, intoSource));
          expect(await bytesOf(source, stages.slice(intoSource))).toEqual(flat);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('checks formats when composed, and names both stages and both formats', () => {
    expect(() => compose(pcmEncode(), gain())).toThrow('"gain" takes pcm but "pcmEncode" gives bytes pcm');
    expect(() => assemble(tone({ sampleRate: 16000 }), pcmEncode(), gain())).toThrow(/"gain" takes pcm but "pcmEncode" gives bytes/);
    const encode = compose(gain(), pcmEncode());
    expect(encode.name).toBe('gain+pcmEncode');
    expect(encode.takes).toEqual(anyPcm);
    expect(() => pipeline(tone(), encode, gain(), collect())).toThrow('"gain" takes pcm but "gain+pcmEncode" gives bytes pcm s16le 24000 Hz mono');
    try {
      compose();
    } catch (error) {
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('format');
    }
  });

  it('property: a run aborted at any pull releases every stage inside composites, and the source is asked for nothing more', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.boolean(), async (abortAt, asSource) => {
        const log = { opened: 0, released: 0 };
        const tracked = () => trackedStage(log);
        const endless = endlessSource({ kind: 'pcm', sampleRate: 8000, channels: 1 }, () => ({ sampleRate: 8000, channels: [new Float32Array(16)] }), (pull) => {
          if (pull === abortAt) run.abort();
        });
        const inner = compose(tracked(), compose(tracked(), tracked()));
        const run = asSource ? pipeline(assemble(endless, inner, tracked()), collect()) : pipeline(endless, inner, tracked(), collect());
        expect((await run.done).outcome).toBe('aborted');
        expect(log.opened).toBe(4);
        expect(log.released).toBe(4);
        await settleTurns();
        expect(endless.pulls).toBe(abortAt);
      }),
      { numRuns: 30 },
    );
  });

  it('composites round-trip as data: compose and assemble are written into the spec and read back to the same audio', async () => {
    const original = pipeline(assemble(tone({ ms: 100 }), gain({ db: -3 })), compose(frames({ samples: 100 }), gain({ db: -3 })), collect());
    const first = (await original.done).value!.pcm!;
    const spec = assembleFromSpec(
      { stages: [{ stage: 'assemble', options: { stages: [{ stage: 'tone', options: { ms: 100 } }, { stage: 'gain', options: { db: -3 } }] } }, { stage: 'compose', options: { stages: [{ stage: 'frames', options: { samples: 100 } }, { stage: 'gain', options: { db: -3 } }] } }, { stage: 'collect' }] },
      coreStages,
    ).toSpec();
    expect(spec.stages.map((s) => s.stage)).toEqual(['assemble', 'compose', 'collect']);
    const again = await pipeline.fromSpec(JSON.parse(JSON.stringify(spec)), coreStages).done;
    expect((again.value as { pcm: PcmChunk }).pcm).toEqual(first);
    expect(() => assembleFromSpec({ stages: [{ stage: 'compose', options: { stages: [] } }, { stage: 'collect' }] }, coreStages)).toThrow(/Bad compose at stages\[0\]/);
  });
});

describe('openSource', () => {
  it('gives the source stream on its own; cleanups run when it ends, and a stage control is reached through it', async () => {
    let released = 0;
    const counted = transformStage<PcmChunk, PcmChunk>({ name: 'counted', takes: anyPcm, gives: (f) => f, transformer: (ctx) => (ctx.defer(() => released++), {}) });
    const f = fade({ inMs: 0, outMs: 5, fadeEnd: false });
    const opened = openSource<PcmChunk>(assemble(tone({ ms: 200, chunkMs: 20 }), counted, f));
    expect(opened.control(f)).toBeDefined();
    const reader = opened.readable.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    opened.control(f)!.fadeOut();
    let frames = first.value!.channels[0].length;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      frames += value.channels[0].length;
    }
    expect(frames).toBeLessThan(4800);
    expect(released).toBe(1);
  });

  it("inside another stage's run (parent), its stages' controls are still reached through it", async () => {
    const events: string[] = [];
    const root = createContext({ signal: new AbortController().signal, onEvent: (e) => events.push(e.type) });
    const f = fade({ inMs: 0, outMs: 5, fadeEnd: false });
    const opened = openSource<PcmChunk>(assemble(tone({ ms: 100 }), f), { parent: root.for('outer') });
    expect(opened.control(f)).toBeDefined();
    const reader = opened.readable.getReader();
    while (!(await reader.read()).done);
    expect(events).toContain('first-audio'); // milestones go to the parent's run
    root.finish();
  });

  it('cancelling the stream cancels the source and runs the cleanups; an aborted signal fails it', async () => {
    const log = { cancelled: false, released: 0 };
    const endless: SourceStage<PcmChunk> = {
      role: 'source',
      name: 'endless',
      gives: { kind: 'pcm', sampleRate: 8000, channels: 1 },
      open: (ctx) => {
        ctx.defer(() => log.released++);
        return new ReadableStream<PcmChunk>({ pull: (c) => c.enqueue({ sampleRate: 8000, channels: [new Float32Array(8)] }), cancel: () => void (log.cancelled = true) }, { highWaterMark: 0 });
      },
    };
    const reader = openSource(assemble(endless, gain())).readable.getReader();
    await reader.read();
    await reader.cancel('enough');
    expect(log).toEqual({ cancelled: true, released: 1 });

    const controller = new AbortController();
    const other = openSource(assemble(endless, gain()), { signal: controller.signal }).readable.getReader();
    await other.read();
    controller.abort(new VoxpipeError('aborted', 'stop'));
    // What was already on its way may still arrive; then the stream fails.
    const failure = await (async () => {
      for (let i = 0; i < 10; i++) await other.read();
    })().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'aborted' });
    expect(log.released).toBe(2);
  });
});
