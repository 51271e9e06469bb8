// Every ```ts block in the READMEs typechecks on its own, as a module: it
// imports what it uses and defines what it needs. Each block is written to its
// own file under node_modules/.cache/readme-blocks/ and the workspace's `tsc`
// checks them all in one run; @voxpipe/* resolve through the workspace's
// node_modules to the packages' sources, as the packages' own code does.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { limitFor } from './support/budgets.js';

const root = join(import.meta.dirname, '..');
const out = join(root, 'node_modules', '.cache', 'readme-blocks');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
/** The one tsc run over every block (a cold start typechecks the packages' sources too). */
const TSC_TIMEOUT_MS = 180_000;

interface Block {
  /** README path relative to the workspace root. */
  readme: string;
  /** 1-based line of the block's first code line in the README. */
  line: number;
  /** The file the block is written to, relative to `out`. */
  file: string;
  code: string;
}

/** Every ```ts (or ```typescript) block of a Markdown file, with the line its code starts on. */
function tsBlocks(markdown: string): Array<{ line: number; code: string }> {
  const lines = markdown.split('\n');
  const blocks: Array<{ line: number; code: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}

async function readmes(): Promise<string[]> {
  const packages = await readdir(join(root, 'packages'));
  const paths = ['README.md', ...packages.sort().map((p) => join('packages', p, 'README.md'))];
  return paths.filter((p) => existsSync(join(root, p)));
}

const readmeFiles = await readmes();
const blocks: Block[] = [];
for (const readme of readmeFiles) {
  const markdown = await readFile(join(root, readme), 'utf8');
  for (const { line, code } of tsBlocks(markdown)) {
    const file = `${readme.replace(/[\\/]/g, '__').replace(/\.md$/, '')}__L${line}.ts`;
    blocks.push({ readme, line, file, code });
  }
}

/** Diagnostics by block file (relative to `out`): `file(line,col): error TSxxxx: message`. */
const diagnostics = new Map<string, string[]>();
let tscOutput = '';

beforeAll(async () => {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const block of blocks) await writeFile(join(out, block.file), block.code);
  // module settings follow the workspace's, so blocks resolve imports as the packages do
  const base = JSON.parse(await readFile(join(root, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { module?: string; moduleResolution?: string } };
  // the blocks are ES modules, as a user's "type": "module" project is
  await writeFile(join(out, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: base.compilerOptions.module ?? 'ESNext',
      moduleResolution: base.compilerOptions.moduleResolution ?? 'bundler',
      moduleDetection: 'force',
      strict: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
    },
    files: blocks.map((b) => b.file),
  };
  await writeFile(join(out, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  if (blocks.length === 0) return;
  tscOutput = await new Promise<string>((resolve, reject) => {
    execFile(tsc, ['-p', join(out, 'tsconfig.json'), '--pretty', 'false'], { cwd: out, timeout: TSC_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      // tsc exits non-zero when it finds errors; only a run without output is a failure of the run itself
      if (error && !stdout && !stderr) reject(error);
      else resolve(`${stdout}${stderr}`);
    });
  });
  let current: string[] | undefined;
  for (const text of tscOutput.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(text);
    if (match) {
      const file = relative(out, join(out, match[1]));
      const list = diagnostics.get(file) ?? [];
      list.push(`${match[2]}:${match[3]} ${match[4]}`);
      diagnostics.set(file, list);
      current = list;
    } else if (text.startsWith(' ') && current) {
      current[current.length - 1] += `\n    ${text.trim()}`;
    } else if (text.trim()) {
      current = undefined;
    }
  }
}, limitFor(TSC_TIMEOUT_MS)); // tsc is ended after TSC_TIMEOUT_MS: its own error comes first

describe('README code', () => {
  it('finds the ts blocks', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  for (const readme of readmeFiles) {
    const mine = blocks.filter((b) => b.readme === readme);
    if (mine.length === 0) continue;
    it(`every ts block in ${readme} typechecks on its own`, () => {
      const failures: string[] = [];
      for (const block of mine) {
        for (const diagnostic of diagnostics.get(block.file) ?? []) {
          // map the diagnostic's line in the block file back to the README
          const [, line, column, message] = /^(\d+):(\d+) (.*)$/s.exec(diagnostic)!;
          failures.push(`${readme}:${block.line + Number(line) - 1}:${column} (block at line ${block.line}): ${message}`);
        }
      }
      // errors outside any block file (a broken tsconfig, a package source) fail every README's test
      const elsewhere = [...diagnostics.keys()].filter((file) => !blocks.some((b) => b.file === file));
      for (const file of elsewhere) failures.push(...diagnostics.get(file)!.map((d) => `${file}:${d}`));
      expect(failures, `${failures.length} error(s):\n${failures.join('\n')}`).toEqual([]);
    });
  }
});
