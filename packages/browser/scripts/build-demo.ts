// Builds the demo page (../demo) in memory with esbuild: the page's HTML, its
// script and the chunks that script imports on demand (the decoders, the
// resampler, the streams ponyfill: each fetched only when the page needs it).
// The server serves `html` at GET / and each of `scripts` at its path
// (/demo.js, /demo-….js); with `inline: true`, just `html`, one script inside it.
//
//   npx tsx packages/browser/scripts/build-demo.ts > /tmp/demo.html   # inline page, for a look
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface DemoBuildOptions {
  /** Put the script inside the HTML instead of referencing /demo.js. Default false. */
  inline?: boolean;
  /** Minify the bundle. Default true. */
  minify?: boolean;
}

export interface DemoPage {
  /** The page: serve at GET / as text/html. */
  html: string;
  /** The page's script: serve at GET /demo.js as text/javascript (everything, inside `html`, when inlined). */
  js: string;
  /** Every script by its path: /demo.js and the chunks it imports (/demo-….js), each to serve as text/javascript. */
  scripts: Record<string, string>;
}

const MARKER = '<!--DEMO_SCRIPT-->';

/**
 * Bundles the demo (demo/demo.ts with @voxpipe/browser, core and codecs) into
 * ES modules, in memory (`write: false`): the page's script and, split off,
 * what it imports on demand.
 *
 * ```ts
 * const { html, scripts } = await buildDemo();
 * app.get('/', (c) => c.html(html)); app.get('/:file{demo.*\\.js}', (c) => c.body(scripts[c.req.path], 200, { 'Content-Type': 'text/javascript' }));
 * ```
 */
export async function buildDemo(options: DemoBuildOptions = {}): Promise<DemoPage> {
  const entry = fileURLToPath(new URL('../demo/demo.ts', import.meta.url));
  const page = fileURLToPath(new URL('../demo/index.html', import.meta.url));
  const [result, template] = await Promise.all([
    build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome100', 'firefox100', 'safari15'],
      minify: options.minify ?? true,
      legalComments: 'none',
      // split: each import() a chunk of its own, at /demo-<name>-<hash>.js beside /demo.js
      splitting: !options.inline,
      outdir: '/',
      entryNames: 'demo',
      chunkNames: 'demo-[name]-[hash]',
      write: false,
      logLevel: 'silent',
    }),
    readFile(page, 'utf8'),
  ]);
  const scripts = Object.fromEntries(result.outputFiles.map((file) => [file.path, file.text]));
  const js = scripts['/demo.js'];
  // `</script` inside the bundle would end an inline script early.
  const tag = options.inline ? `<script type="module">${js.replace(/<\/script/gi, '<\\/script')}</script>` : '<script type="module" src="/demo.js"></script>';
  return { html: template.replace(MARKER, () => tag), js, scripts };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { html } = await buildDemo({ inline: true });
  process.stdout.write(html);
}
