import { MODELS } from '@voxpipe/server';
import { UsageError } from './usage-error.js';

/** The models the API lists; any other `aura-*` name is an Aura model too. */
export const MODEL_NAMES: readonly string[] = MODELS.map((m) => m.id);

const AURA_FAMILY = /^aura-[a-z0-9][a-z0-9.-]{0,40}$/;
/** A numbered Aura version (aura-3) is never a typo of another (aura-2). */
const AURA_VERSION = /^aura-\d+$/;

/** Edits (insert, delete, replace) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The listed model nearest to `name`. */
export function closestModel(name: string): string {
  const wanted = name.trim().toLowerCase();
  return MODEL_NAMES.reduce((best, m) => (editDistance(wanted, m) < editDistance(wanted, best) ? m : best));
}

/**
 * Checks a `--model` value before anything is sent. Listed models pass (in
 * any case), and so do other `aura-*` names — except one within two edits of
 * a listed model, which is taken for a typo (`aura-lit`; numbered versions
 * such as `aura-3` are not). Anything else is a
 * usage error that lists the models and names the closest.
 */
export function checkModel(name: string): void {
  const id = name.trim().toLowerCase();
  if (MODEL_NAMES.includes(id)) return;
  const closest = closestModel(id);
  const typo = editDistance(id, closest) <= 2;
  if (AURA_FAMILY.test(id) && (!typo || AURA_VERSION.test(id))) return;
  throw new UsageError(
    `Unknown model "${name}"; ${typo ? `did you mean "${closest}"?` : `the closest is "${closest}".`} Models: ${MODEL_NAMES.join(', ')}, and other aura-* names.`,
  );
}
