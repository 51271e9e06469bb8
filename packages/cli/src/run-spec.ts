import { codecStages } from '@voxpipe/codecs';
import { assembleFromSpec, coreStages, VoxpipeError, type RunResult } from '@voxpipe/core';
import { nodeStages } from '@voxpipe/node';
import { readFile } from 'node:fs/promises';
import { startEmbeddedServer } from './embedded.js';

/** Every stage the CLI can build from a spec file. */
export const cliStages = { ...coreStages, ...codecStages, ...nodeStages };

type Spec = { stages: Array<{ stage: string; options?: Record<string, unknown> }> };

/** Where in `text` the character at `offset` is, as 1-based line and column. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/**
 * Parses a spec file's text. Malformed JSON is a `bad-request` error that
 * names the file and the line and column where it goes wrong.
 */
export function parseSpec(text: string, path: string): Spec {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message;
    const at = /at position (\d+)/.exec(reason);
    const offset = at ? Number(at[1]) : /end of JSON input/.test(reason) ? text.length : undefined;
    const where = offset === undefined ? '' : (({ line, column }) => ` at line ${line}, column ${column}`)(lineAndColumn(text, offset));
    throw new VoxpipeError('bad-request', `Spec ${path} is not valid JSON${where}: ${reason.replace(/ in JSON at position \d+.*$/, '')}`);
  }
  if (typeof spec !== 'object' || spec === null || !Array.isArray((spec as Spec).stages)) {
    throw new VoxpipeError('bad-request', `Spec ${path} must be a JSON object with a "stages" array, e.g. {"stages": [{"stage": "tone"}, {"stage": "wavFile", "options": {"path": "out.wav"}}]}`);
  }
  return spec as Spec;
}

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
  const spec = parseSpec(text, path);
  const wantsEmbedded = spec.stages.some((s) => s.stage === 'ttsSource' && (s.options?.baseUrl ?? 'embedded') === 'embedded');
  const embedded = wantsEmbedded ? await startEmbeddedServer() : undefined;
  try {
    if (embedded) {
      for (const s of spec.stages) {
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
