// Builds the demo page (../demo) in memory with esbuild: the page's HTML and
// one JS bundle. The server serves `html` at GET / and `js` at GET /demo.js
// (or, with `inline: true`, just `html`, the script inside it).
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
  /** The bundle: serve at GET /demo.js as text/javascript (also inside `html` when inlined). */
  js: string;
}

const MARKER = '<!--DEMO_SCRIPT-->';

/**
 * Bundles the demo (demo/demo.ts with @voxpipe/browser, core and codecs) into
 * one ES module, in memory (`write: false`).
 *
 * ```ts
 * const { html, js } = await buildDemo();
 * app.get('/', (c) => c.html(html)); app.get('/demo.js', (c) => c.body(js, 200, { 'Content-Type': 'text/javascript' }));
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
      write: false,
      logLevel: 'silent',
    }),
    readFile(page, 'utf8'),
  ]);
  const js = result.outputFiles[0].text;
  // `</script` inside the bundle would end an inline script early.
  const tag = options.inline ? `<script type="module">${js.replace(/<\/script/gi, '<\\/script')}</script>` : '<script type="module" src="/demo.js"></script>';
  return { html: template.replace(MARKER, () => tag), js };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { html } = await buildDemo({ inline: true });
  process.stdout.write(html);
}
