// voxpipe as its users get it: every package packed with `pnpm pack`, the
// tarballs installed with plain npm into a project outside the workspace,
// then used there the way the README says (the `voxpipe` bin, plain `node`
// ESM, a strict NodeNext TypeScript consumer, a browser bundle) and checked
// with publint and arethetypeswrong. Needs the build (`pnpm build`, which the
// test command runs first) and the npm registry for third-party dependencies.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitFor } from './support/budgets.js';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const PNPM = ['-y', 'pnpm@12.21.0'];
const PACKAGES = ['core', 'codecs', 'node', 'browser', 'rx', 'server', 'cli', 'engine-espeak'];
const MIT_PACKAGES = PACKAGES.filter((name) => name !== 'engine-espeak');
// Each child's own limit (a hang, not slowness: npm talks to the registry, and a slow registry or a
// busy machine only makes it slower); a test's or hook's limit is the sum of its children's.
const INSTALL_MS = 600_000;
const COMMAND_MS = 180_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeout = COMMAND_MS): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, VOXPIPE_URL: '', VOXPIPE_API_KEY: '', ...env }, timeout, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function succeeded(result: Result, what: string): string {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The installed packages (any depth) whose licence is a GPL (LGPL aside), as name@licence. */
async function gplPackages(modules: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(modules).catch(() => [] as string[])) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? (await readdir(join(modules, entry))).map((name) => join(modules, entry, name)) : [join(modules, entry)];
    for (const dir of dirs) {
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8').catch(() => '{}')) as { name?: string; license?: unknown };
      if (/\bGPL/.test(JSON.stringify(manifest.license ?? ''))) found.push(`${manifest.name}@${JSON.stringify(manifest.license)}`);
      found.push(...(await gplPackages(join(dir, 'node_modules'))));
    }
  }
  return found;
}

const tarball = (name: string) => join(packs, `voxpipe-${name}-0.1.0.tgz`);

let work: string;
let packs: string;
let project: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'voxpipe-pack-'));
  packs = join(work, 'packs');
  project = join(work, 'project');
  for (const name of PACKAGES) {
    succeeded(await run('npx', [...PNPM, 'pack', '--pack-destination', packs], join(root, 'packages', name)), `pnpm pack in packages/${name}`);
  }
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'voxpipe-user', private: true, type: 'module' }));
  // The MIT packages alone first: the GPL engine must not come with them.
  succeeded(
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...MIT_PACKAGES.map(tarball), '@types/node@20.19.43', 'fast-check@4.10.2'], project, {}, INSTALL_MS),
    'npm install of the MIT tarballs',
  );
}, limitFor(PACKAGES.length * COMMAND_MS, INSTALL_MS));

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('packed packages installed with npm, outside the workspace', () => {
  it('every tarball holds built JavaScript, declarations, a README and a LICENSE, and no tests', async () => {
    for (const name of PACKAGES) {
      const listing = succeeded(await run('tar', ['-tzf', tarball(name)], packs), `tar of ${name}`).split('\n');
      expect(listing, name).toContain('package/dist/index.js');
      expect(listing, name).toContain('package/dist/index.d.ts');
      expect(listing, name).toContain('package/dist/index.js.map');
      expect(listing, name).toContain('package/README.md');
      expect(listing, name).toContain('package/LICENSE');
      expect(listing.filter((path) => /\.test\.|tsbuildinfo/.test(path)), name).toEqual([]);
    }
  }, limitFor(PACKAGES.length * COMMAND_MS));

  it('installing the MIT packages pulls in no GPL code; `voxpipe say` says what to install, `voxpipe bench` where the benchmarks are', async () => {
    const installed = await readdir(join(project, 'node_modules', '@voxpipe'));
    expect(installed.sort()).toEqual([...MIT_PACKAGES].sort());
    expect(await gplPackages(join(project, 'node_modules'))).toEqual([]);
    const said = await run(join(project, 'node_modules', '.bin', 'voxpipe'), ['say', 'Hello', '--out', 'none.wav'], project);
    expect(said.code).not.toBe(0);
    expect(said.stderr).toContain('npm install @voxpipe/engine-espeak');
    await expect(stat(join(project, 'none.wav'))).rejects.toThrow();
    const bench = await run(join(project, 'node_modules', '.bin', 'voxpipe'), ['bench'], project);
    expect(bench.code).toBe(64);
    expect(bench.stderr).toContain('The benchmarks come with the voxpipe repository');
  }, limitFor(COMMAND_MS, COMMAND_MS));

  describe('with the engine installed', () => {
    beforeAll(async () => {
      succeeded(await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball('engine-espeak')], project, {}, INSTALL_MS), 'npm install of the engine');
    }, limitFor(INSTALL_MS));

    it('the `voxpipe` bin speaks to a WAV, and a plain node ESM script decodes it with core + codecs', async () => {
      // The engine brings its own eSpeak NG build (espeak-ng/ in its tarball) and no other GPL package.
      expect(await gplPackages(join(project, 'node_modules'))).toEqual(['@voxpipe/engine-espeak@"GPL-3.0"']);
      succeeded(await run(join(project, 'node_modules', '.bin', 'voxpipe'), ['say', 'Hello from an installed voxpipe.', '--out', 'hello.wav'], project), 'voxpipe say');
      await writeFile(
        join(project, 'decode-wav.mjs'),
        `import { readFile } from 'node:fs/promises';
import { collect, fromBytes, pipeline, resample } from '@voxpipe/core';
import { decode } from '@voxpipe/codecs';
const bytes = new Uint8Array(await readFile('hello.wav'));
const { value } = await pipeline(fromBytes(bytes, { chunkSize: 1000 }), decode(), resample({ rate: 16000 }), collect()).done;
let peak = 0;
for (const sample of value.pcm.channels[0]) peak = Math.max(peak, Math.abs(sample));
console.log(JSON.stringify({ bytes: bytes.length, sampleRate: value.pcm.sampleRate, frames: value.pcm.channels[0].length, peak }));
`,
      );
      const decoded = JSON.parse(succeeded(await run('node', ['decode-wav.mjs'], project), 'node decode-wav.mjs')) as { bytes: number; sampleRate: number; frames: number; peak: number };
      const seconds = (decoded.bytes - 44) / 2 / 24000;
      expect(seconds).toBeGreaterThan(0.5);
      expect(decoded.sampleRate).toBe(16000);
      expect(decoded.frames).toBe(Math.round(seconds * 16000));
      expect(decoded.peak).toBeGreaterThan(0.05);
    }, limitFor(2 * COMMAND_MS)); // voxpipe say, then node

    it('a strict NodeNext TypeScript project typechecks against the declarations (lib checks on)', async () => {
      await writeFile(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022'], types: ['node'], noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: true },
          include: ['consumer.ts'],
        }),
      );
      await writeFile(
        join(project, 'consumer.ts'),
        `import { pipeline, tone, gain, resample, VoxpipeError, type PcmChunk } from '@voxpipe/core';
import { bytePartitions } from '@voxpipe/core/testing';
import { decode } from '@voxpipe/codecs';
import { wavFile } from '@voxpipe/node';
import { createServer, type VoxpipeServer } from '@voxpipe/server';
import { fromReadable } from '@voxpipe/rx';
import { createEspeakEngine } from '@voxpipe/engine-espeak';

const run = pipeline(tone({ ms: 100 }), gain({ db: -3 }), resample({ rate: 16000 }), wavFile('out.wav'));
const server: VoxpipeServer = createServer({ keys: ['k'], logger: false });
const first = (chunk: PcmChunk): number => chunk.channels[0].length;
export { run, server, first, decode, fromReadable, createEspeakEngine, bytePartitions, VoxpipeError };
`,
      );
      succeeded(await run(bin('tsc'), ['-p', project], project), 'tsc -p (strict NodeNext consumer)');
    }, limitFor(COMMAND_MS));

    it('a browser page typechecks against core + codecs + browser (DOM lib) and bundles with esbuild, with nothing from Node in it', async () => {
      await writeFile(
        join(project, 'page.ts'),
        `import { pipeline, ttsSource, prebuffer } from '@voxpipe/core';
import { decode } from '@voxpipe/codecs';
import { audioWorkletSink, unlock } from '@voxpipe/browser';
document.querySelector('button')!.addEventListener('click', async () => {
  const context = await unlock();
  const run = pipeline(ttsSource({ baseUrl: location.origin, apiKey: 'k', text: 'Hi' }), prebuffer({ kind: 'bytes', chunks: 2 }), decode(), audioWorkletSink({ context }));
  await run.done;
});
`,
      );
      await writeFile(
        join(project, 'tsconfig.browser.json'),
        JSON.stringify({
          compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [], noEmit: true, skipLibCheck: false },
          include: ['page.ts'],
        }),
      );
      succeeded(await run(bin('tsc'), ['-p', join(project, 'tsconfig.browser.json')], project), 'tsc -p (browser consumer)');
      const { build } = await import('esbuild');
      const result = await build({ entryPoints: [join(project, 'page.ts')], absWorkingDir: project, bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', metafile: true });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.some((path) => path.includes('node_modules/@voxpipe/browser/dist/'))).toBe(true);
      expect(inputs.some((path) => path.includes('node_modules/@voxpipe/codecs/dist/'))).toBe(true);
      expect(inputs.filter((path) => path.startsWith('node:') || /@voxpipe\/[^/]+\/src\//.test(path))).toEqual([]);
      expect(result.outputFiles[0].text.length).toBeGreaterThan(10_000);
    }, limitFor(COMMAND_MS)); // tsc, then an in-process esbuild bundle
  });

  it.each(PACKAGES)('@voxpipe/%s passes publint and arethetypeswrong (ESM-only profile)', async (name) => {
    const lint = await run(bin('publint'), ['run', tarball(name), '--strict'], packs);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    const types = await run(bin('attw'), [tarball(name), '--profile', 'esm-only', '--no-definitely-typed', '--no-color', '--no-emoji'], packs);
    expect(types.code, types.stdout + types.stderr).toBe(0);
  }, limitFor(2 * COMMAND_MS)); // publint, then attw
});
