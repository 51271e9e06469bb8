import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository this command runs from (benchmarks live there, not in the published package). */
export const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The benchmarks `voxpipe bench` can run: one per `bench/<name>.ts` beside
 * `bench/run.ts` (which runs them), read from the folder itself so the list
 * never goes stale. Empty when the folder is not there.
 */
export function benchmarkNames(root: string = REPOSITORY_ROOT): string[] {
  try {
    return readdirSync(join(root, 'bench'))
      .filter((file) => file.endsWith('.ts') && file !== 'run.ts' && !file.endsWith('.test.ts'))
      .map((file) => file.slice(0, -3))
      .sort();
  } catch {
    return [];
  }
}
