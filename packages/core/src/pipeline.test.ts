import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoxpipeError } from './errors.js';
import { anyPcm } from './format.js';
import { assemble, assembleFromSpec, coreStages, pipeline, transformStage, type PcmChunk, type RunEvent } from './index.js';
import { collect } from './sinks/collect.js';
import { fromBytes } from './sources/from-bytes.js';
import { tone } from './sources/tone.js';
import { gain } from './stages/gain.js';
import { trackedStage } from './testing/tracked-stage.js';

const tracked = trackedStage;

describe('assembly', () => {
  it('names both stages and both formats on a mismatch', () => {
    const bytesOnly = transformStage<Uint8Array, Uint8Array>({
      name: 'bytesOnly',
      takes: { kind: 'bytes', container: 'mp3' },
      gives: (f) => f,
      transformer: () => ({}),
    });
    expect(() => assemble(tone({ sampleRate: 16000 }), bytesOnly, collect({ kind: 'bytes' }))).toThrow(
      '"bytesOnly" takes bytes mp3 but "tone" gives pcm 16000 Hz mono',
    );
    expect(() => assemble(tone(), gain(), collect({ kind: 'bytes' }))).toThrow('"collect" takes bytes but "gain" gives pcm 24000 Hz mono');
    try {
      assemble(fromBytes(new Uint8Array(4)), gain(), collect());
    } catch (error) {
      expect(error).toBeInstanceOf(VoxpipeError);
      expect((error as VoxpipeError).code).toBe('format');
      expect((error as VoxpipeError).stage).toBe('gain');
    }
  });

  it('checks the order of sources, transforms and sinks', () => {
    expect(() => assemble(gain() as never, collect())).toThrow(/starts with a source/);
    expect(() => (pipeline as unknown as (...a: unknown[]) => unknown)(tone(), gain())).toThrow(/ends with a sink/);
    expect(assemble(tone(), gain()).role).toBe('source'); // without a sink: a source
    expect(() => assemble(tone(), tone() as never, collect())).toThrow(/"tone" is a source and belongs first/);
  });

  it('rejects unknown stage names and bad options in specs with clear messages', () => {
    expect(() => assembleFromSpec({ stages: [{ stage: 'tone' }, { stage: 'gian' }, { stage: 'collect' }] }, coreStages)).toThrow(
      /Unknown stage "gian" at stages\[1\] \(known: .*gain/,
    );
    expect(() => assembleFromSpec({ stages: [{ stage: 'tone', options: { ms: -1 } }, { stage: 'collect' }] }, coreStages)).toThrow(
      /Bad options for "tone": ms: /,
    );
    expect(() => assembleFromSpec({ stages: [{ stage: 'tone' }] }, coreStages)).toThrow(/at least a source and a sink/);
    expect(() => assembleFromSpec('{"stages": [', coreStages)).toThrow(/not valid JSON/);
    expect(() => assembleFromSpec({ stages: [{ stage: 'tone', extra: 1 }, { stage: 'collect' }] }, coreStages)).toThrow(/Bad pipeline spec/);
  });

  it('round-trips specs through JSON, giving the same pipeline and the same audio', async () => {
    const gainSpec = fc.record({ stage: fc.constant('gain'), options: fc.record({ db: fc.double({ min: -60, max: 6, noNaN: true }) }) });
    const specArb = fc.record({
      stages: fc.tuple(
        fc.record({
          stage: fc.constant('tone'),
          options: fc.record(
            { frequency: fc.integer({ min: 0, max: 4000 }), ms: fc.integer({ min: 0, max: 200 }), sampleRate: fc.constantFrom(8000, 24000, 48000), channels: fc.integer({ min: 1, max: 3 }) },
            { requiredKeys: [] },
          ),
        }),
        fc.array(gainSpec, { maxLength: 4 }),
      ).map(([source, gains]) => [source, ...gains, { stage: 'collect', options: { kind: 'pcm' } }]),
    });
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        const first = assembleFromSpec(JSON.stringify(spec), coreStages).toSpec();
        const again = assembleFromSpec(JSON.parse(JSON.stringify(first)), coreStages).toSpec();
        expect(again).toEqual(first);
        const a = await pipeline.fromSpec(spec, coreStages).done;
        const b = await pipeline.fromSpec(first, coreStages).done;
        expect((b.value as { pcm: PcmChunk }).pcm).toEqual((a.value as { pcm: PcmChunk }).pcm);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses to write a stage built from code as data', () => {
    expect(() => assemble(fromBytes(new Uint8Array(2)), collect({ kind: 'bytes' })).toSpec()).toThrow(/"fromBytes" was built from code/);
  });
});

describe('runs', () => {
  it('completes with the sink value, ordered events and plausible metrics', async () => {
    const run = pipeline(tone({ ms: 500, chunkMs: 20 }), gain({ db: -6 }), collect());
    const seen: RunEvent[] = [];
    run.events.on('*', (e) => seen.push(e));
    const result = await run.done;
    expect(result.outcome).toBe('completed');
    expect(result.value!.pcm!.channels[0].length).toBe(12000);
    expect(run.metrics.audioMs).toBeCloseTo(500, 6);
    expect(run.metrics.firstAudioMs).toBeGreaterThanOrEqual(0);
    expect(run.metrics.endMs).toBeGreaterThanOrEqual(run.metrics.firstAudioMs!);
    expect(run.metrics.realTimeFactor).toBeGreaterThan(0);
    expect(seen.map((e) => e.type)).toEqual(['start', 'first-audio', 'end']);
    expect(seen.map((e) => e.t)).toEqual([...seen.map((e) => e.t)].sort((x, y) => x - y));
    expect(await run.events.once('end')).toMatchObject({ detail: { outcome: 'completed' } });
  });

  it('releases everything when aborted at any point', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.boolean(), async (afterChunks, external) => {
        const log = { opened: 0, released: 0 };
        const controller = new AbortController();
        let chunks = 0;
        const counting = transformStage<PcmChunk, PcmChunk>({
          name: 'counting',
          takes: anyPcm,
          gives: (f) => f,
          transformer: () => ({
            transform(chunk, out) {
              if (chunks++ === afterChunks) {
                if (external) controller.abort();
                else run.abort('stop');
              }
              out.enqueue(chunk);
            },
          }),
        });
        const run = assemble(tone({ ms: 400 }), tracked(log), counting, tracked(log), collect()).run({ signal: controller.signal });
        const result = await run.done;
        expect(result.outcome).toBe(afterChunks < 20 ? 'aborted' : 'completed');
        expect(log).toEqual({ opened: 2, released: 2 });
        expect(run.signal.aborted).toBe(afterChunks < 20);
        expect(run.events.history().at(-1)?.type).toBe('end');
      }),
      { numRuns: 40 },
    );
  });

  it('a signal aborted before the start gives an aborted run', async () => {
    const controller = new AbortController();
    controller.abort();
    const log = { opened: 0, released: 0 };
    const result = await assemble(tone(), tracked(log), collect()).run({ signal: controller.signal }).done;
    expect(result.outcome).toBe('aborted');
    expect(log.opened).toBe(log.released);
  });

  it('a failing stage rejects done with a typed error naming nothing internal, and releases the others', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10 }), async (failAt) => {
        const log = { opened: 0, released: 0 };
        const run = pipeline(tone({ ms: 300 }), tracked(log), tracked(log, failAt), collect());
        const errors: unknown[] = [];
        run.events.on('error', (e) => errors.push(e.detail.error));
        await expect(run.done).rejects.toMatchObject({ name: 'VoxpipeError', code: 'internal', message: 'boom' });
        expect(errors).toHaveLength(1);
        expect(log).toEqual({ opened: 2, released: 2 });
      }),
      { numRuns: 15 },
    );
  });

  it('can run an assembled pipeline twice with fresh state', async () => {
    const p = assemble(tone({ ms: 100 }), gain({ db: -3 }), collect());
    const [a, b] = await Promise.all([p.run().done, p.run().done]);
    expect(a.value!.pcm).toEqual(b.value!.pcm);
  });
});
