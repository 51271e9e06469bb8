import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assemble, coreStages, pipeline, tone, VoxpipeError } from '@voxpipe/core';
import { nodeStages } from './registry.js';
import { wavFile } from './wav-file.js';
import { readWav, tempDir } from './test-support.js';

const dir = await tempDir();
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('nodeStages', () => {
  it('builds each stage from JSON options, with the spec it was built from', () => {
    const options: Record<string, Record<string, unknown>> = {
      fileSource: { path: 'in.mp3' },
      wavFile: { path: 'out.wav' },
      rawFile: { path: 'out.raw' },
      stdout: {},
      play: { player: 'aplay', args: ['-D', 'null'] },
      speaker: {},
    };
    expect(Object.keys(nodeStages).sort()).toEqual(Object.keys(options).sort());
    for (const [name, opts] of Object.entries(options)) {
      const stage = nodeStages[name](opts);
      expect(stage.name).toBe(name);
      expect(stage.spec?.stage).toBe(name);
      expect(nodeStages[name](JSON.parse(JSON.stringify(stage.spec!.options))).spec).toEqual(stage.spec);
    }
  });

  it('runs a spec written back as JSON', async () => {
    const path = join(dir, 'from-spec.wav');
    const spec = JSON.stringify(assemble(tone({ ms: 120 }), wavFile(path)).toSpec());
    await pipeline.fromSpec(spec, { ...coreStages, ...nodeStages }).done;
    const info = readWav(new Uint8Array(await readFile(path)));
    expect(info.dataSize).toBe(120 * 24 * 2);
  });

  it('rejects unknown or missing options as bad requests', () => {
    for (const bad of [() => nodeStages.wavFile({ path: 'x.wav', bogus: 1 }), () => nodeStages.fileSource({}), () => nodeStages.stdout({ x: 1 })]) {
      expect(bad).toThrow(VoxpipeError);
    }
  });
});
