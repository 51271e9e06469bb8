// Runs every benchmark in this folder, one process each, and prints their figures.
// Run: npx -y pnpm@12.21.0 bench            (or one: npx tsx bench/resample.ts)
// Pick some: npx -y pnpm@12.21.0 bench pipeline resample
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['pipeline', 'pcm-stages', 'prebuffer', 'jitter', 'words', 'resample', 'decode', 'codecs', 'client', 'espeak', 'node-sinks', 'server', 'timestamps', 'speak', 'load', 'fairness', 'hostile', 'ops'];
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = chosen.length > 0 ? chosen : all;
const tsx = join(here, '..', 'node_modules', '.bin', 'tsx');

let failed = 0;
for (const name of names) {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) {
    console.log(`\n## ${name}: no such benchmark (have: ${all.join(', ')})`);
    failed++;
    continue;
  }
  console.log(`\n## ${name}  (npx tsx bench/${name}.ts)\n`);
  const result = spawnSync(tsx, ['--expose-gc', file], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
