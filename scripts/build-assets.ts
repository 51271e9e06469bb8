// The part of the build that is not TypeScript emit (`tsc -b` does that):
// copies the espeak worker (plain JavaScript, loaded by `new Worker(url)`, and
// the plain modules it imports)
// next to the engine's compiled code, and bundles the browser demo player
// (its script and the chunks it loads on demand) into the server's dist/,
// so the server needs no bundler at run time.
//
//   npx tsx scripts/build-assets.ts      # after tsc -b; `pnpm build` runs both
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildDemo } from '../packages/browser/scripts/build-demo.js';

const at = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

await mkdir(at('packages/engine-espeak/dist'), { recursive: true });
// the worker and the plain modules it imports (word-marks.mjs …)
const workerModules = (await readdir(at('packages/engine-espeak/src'))).filter((name) => name.endsWith('.mjs'));
await Promise.all(workerModules.map((name) => copyFile(at(`packages/engine-espeak/src/${name}`), at(`packages/engine-espeak/dist/${name}`))));

const { html, scripts } = await buildDemo();
// a fresh folder: chunks of an earlier build (other hashes) must not linger
await rm(at('packages/server/dist/demo'), { recursive: true, force: true });
await mkdir(at('packages/server/dist/demo'), { recursive: true });
await Promise.all([writeFile(at('packages/server/dist/demo/index.html'), html), ...Object.entries(scripts).map(([path, js]) => writeFile(at(`packages/server/dist/demo${path}`), js))]);
