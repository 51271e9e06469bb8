import { codecStages } from '@voxpipe/codecs';
import { assembleFromSpec, coreStages, VoxpipeError, type RunResult } from '@voxpipe/core';
import { nodeStages } from '@voxpipe/node';
import { readFile } from 'node:fs/promises';
import { startEmbeddedServer } from './embedded.js';

/** Every stage the CLI can build from a spec file. */
export const cliStages = { ...coreStages, ...codecStages, ...nodeStages };

/**
 * Runs a pipeline spec file. A `ttsSource` stage whose `baseUrl` is
 * `"embedded"` talks to a server started in this process.
 */
export async function runSpecFile(path: string, signal: AbortSignal): Promise<RunResult<unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new VoxpipeError('bad-request', `Cannot read spec ${path}: ${(error as Error).message}`);
  }
  const spec = JSON.parse(text) as { stages?: Array<{ stage: string; options?: Record<string, unknown> }> };
  const wantsEmbedded = spec.stages?.some((s) => s.stage === 'ttsSource' && (s.options?.baseUrl ?? 'embedded') === 'embedded');
  const embedded = wantsEmbedded ? await startEmbeddedServer() : undefined;
  try {
    if (embedded) {
      for (const s of spec.stages!) {
        if (s.stage === 'ttsSource' && (s.options?.baseUrl ?? 'embedded') === 'embedded') {
          s.options = { ...s.options, baseUrl: embedded.url, apiKey: embedded.apiKey };
        }
      }
    }
    return await assembleFromSpec(spec, cliStages).run({ signal }).done;
  } finally {
    await embedded?.close();
  }
}
