// Browser bundles pay for what they use. size-limit (with esbuild, the
// budgets in .size-limit.js) measures what a page loads before its first
// audio; esbuild's metafile shows what each bundle and on-demand chunk holds.
// A size is not a time: asserting one does not depend on the machine.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { CHILD_MS, limitFor } from './support/budgets.js';
// @ts-expect-error -- the size-limit config is plain JavaScript
import budgets, { forBrowsers } from '../.size-limit.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PCM_PLAYER = 'packages/browser/size/pcm-player.ts';
const MP3_PLAYER = 'packages/browser/size/mp3-player.ts';
const DEMO = 'packages/browser/demo/demo.ts';
/** What the MP3 player may load before its first MP3 byte beyond the PCM player. */
const MP3_EXTRA_BYTES = 5000;

interface SizeLimitResult {
  name: string;
  passed?: boolean;
  size: number;
}

/** Bundles `entry` for browsers with every import() split into a chunk of its own, as a page's bundler would. */
async function split(entry: string): Promise<Metafile> {
  const result = await build({
    ...forBrowsers({}),
    plugins: [],
    entryPoints: [join(root, entry)],
    bundle: true,
    splitting: true,
    minify: true,
    metafile: true,
    write: false,
    outdir: join(root, 'out-size'),
    logLevel: 'silent',
  });
  return result.metafile!;
}

/** The output files a page loads at once: the entry and what it imports statically, transitively. */
function loadedAtOnce(meta: Metafile, entry: string): Set<string> {
  const start = Object.keys(meta.outputs).find((out) => meta.outputs[out].entryPoint?.endsWith(entry))!;
  const seen = new Set<string>();
  const visit = (out: string) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of meta.outputs[out].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(start);
  return seen;
}

/** The source files (inputs) inside these outputs, with their bytes in the output. */
function inputsOf(meta: Metafile, outputs: Iterable<string>): Map<string, number> {
  const inputs = new Map<string, number>();
  for (const out of outputs) for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[out].inputs)) if (bytesInOutput > 0) inputs.set(input, (inputs.get(input) ?? 0) + bytesInOutput);
  return inputs;
}

/** The npm package a bundled input belongs to (undefined for the workspace's own sources). */
function packageOf(input: string): string | undefined {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const [first, second] = input.slice(at + 'node_modules/'.length).split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

/** Where `pkg` is installed for code in `dir` (node's lookup, walking up through node_modules folders). */
function manifestOf(pkg: string, dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', pkg, 'package.json');
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dirname(at) === at) throw new Error(`${pkg} is not installed for ${dir}`);
  }
}

/** `name` and every package it depends on, transitively, as installed for `from`. */
function withDependencies(name: string, from: string): Set<string> {
  const found = new Set<string>();
  const visit = (pkg: string, dir: string) => {
    if (found.has(pkg)) return;
    found.add(pkg);
    const manifest = manifestOf(pkg, dir);
    const deps = Object.keys((JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
    for (const dep of deps) visit(dep, dirname(manifest));
  };
  visit(name, join(root, from));
  return found;
}

describe('browser bundles', () => {
  it(
    'size-limit: every bundle within its budget, and the MP3 player loads at most 5 kB more than the PCM player before its first MP3 byte',
    async () => {
      const bin = join(root, 'node_modules', '.bin', 'size-limit');
      const { stdout } = await promisify(execFile)(bin, ['--json'], { cwd: root, timeout: CHILD_MS }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
      const results = JSON.parse(stdout) as SizeLimitResult[];
      expect(results.map((r) => r.name)).toEqual((budgets as { name: string }[]).map((b) => b.name));
      for (const result of results) expect(result, `${result.name}: ${result.size} bytes`).not.toMatchObject({ passed: false });
      const [pcm, mp3] = results;
      expect(mp3.size - pcm.size).toBeLessThanOrEqual(MP3_EXTRA_BYTES);
    },
    limitFor(CHILD_MS),
  );

  it('nothing in the players pulls a Node built-in, the streams ponyfill or valibot before the first audio', async () => {
    for (const entry of [PCM_PLAYER, MP3_PLAYER, DEMO]) {
      const meta = await split(entry);
      const atOnce = inputsOf(meta, loadedAtOnce(meta, entry));
      const all = Object.keys(meta.inputs);
      expect(all.filter((input) => input.startsWith('node:') || /^(fs|path|os|crypto|stream|buffer|worker_threads)$/.test(input)), entry).toEqual([]);
      const packages = new Set([...atOnce.keys()].map(packageOf).filter(Boolean));
      expect(packages.has('web-streams-polyfill'), `${entry} loads the streams ponyfill at once`).toBe(false);
      expect(packages.has('valibot'), `${entry} loads valibot at once`).toBe(false);
      // the ponyfill is still there for runtimes without streams, in a chunk of its own
      expect(all.some((input) => packageOf(input) === 'web-streams-polyfill'), entry).toBe(true);
    }
  });

  it('every package says it has no side effects, so bundlers drop what a page does not import', () => {
    for (const name of ['core', 'codecs', 'browser', 'node', 'rx', 'server', 'cli', 'engine-espeak']) {
      const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as { sideEffects?: unknown };
      expect(manifest.sideEffects, name).toBe(false);
    }
  });

  it('the MP3 player fetches mpg123-decoder on demand, and that fetch holds mpg123-decoder (with its own dependencies and the codec’s glue) and nothing else', async () => {
    const meta = await split(MP3_PLAYER);
    const atOnce = loadedAtOnce(meta, MP3_PLAYER);
    const chunk = Object.keys(meta.outputs).find((out) => Object.keys(meta.outputs[out].inputs).some((input) => packageOf(input) === 'mpg123-decoder'))!;
    expect(chunk, 'no chunk holds mpg123-decoder').toBeDefined();
    expect(atOnce.has(chunk)).toBe(false);
    // what the first MP3 stream fetches: that chunk and whatever it imports that the page has not loaded yet
    const fetched = new Set<string>();
    const visit = (out: string) => {
      if (fetched.has(out) || atOnce.has(out)) return;
      fetched.add(out);
      for (const i of meta.outputs[out].imports) if (i.kind === 'import-statement') visit(i.path);
    };
    visit(chunk);
    const allowed = withDependencies('mpg123-decoder', 'packages/codecs');
    const inputs = inputsOf(meta, fetched);
    const others = [...inputs.keys()].filter((input) => !allowed.has(packageOf(input) ?? '') && relative(root, join(root, input)) !== 'packages/codecs/src/mp3-decoder.ts');
    expect(others).toEqual([]);
    const glue = inputs.get('packages/codecs/src/mp3-decoder.ts') ?? 0;
    const decoder = [...inputs].filter(([input]) => packageOf(input) === 'mpg123-decoder').reduce((sum, [, bytes]) => sum + bytes, 0);
    expect(glue).toBeLessThan(decoder / 10);
    // and the player loads no other decoder either: each sits in its own chunk
    for (const other of ['opus-decoder', '@wasm-audio-decoders/flac', '@wasm-audio-decoders/ogg-vorbis']) {
      expect([...inputsOf(meta, atOnce).keys()].some((input) => packageOf(input) === other), other).toBe(false);
    }
  });
});
