import { readdir, readFile } from 'node:fs/promises';

/** The browser player the server shows at GET /: its HTML, its script, and the chunks the script imports on demand. */
export interface DemoPage {
  html: string;
  /** The page's script, served at /demo.js. */
  js: string;
  /** The chunks it imports when it needs them (decoders, resampler, streams ponyfill) by file name (`demo-….js`), served at /<name>. */
  chunks?: Readonly<Record<string, string>>;
}

/** Where the build puts the page: `dist/demo/` of this package (the same folder seen from `src/` and from `dist/`). */
export const DEMO_DIR = new URL('../dist/demo/', import.meta.url);

/**
 * Reads the demo player that the package build bundled from
 * `@voxpipe/browser` (`index.html`, `demo.js` and its chunks in `dist/demo/`). The server
 * needs no bundler at run time; a checkout that has not been built gets
 * `undefined`, and the server shows its plain listing instead.
 *
 * ```ts
 * const page = await loadDemoPage();
 * if (page) app.get('/', (c) => c.html(page.html));
 * ```
 */
export async function loadDemoPage(dir: URL = DEMO_DIR): Promise<DemoPage | undefined> {
  try {
    const [html, js, names] = await Promise.all([readFile(new URL('index.html', dir), 'utf8'), readFile(new URL('demo.js', dir), 'utf8'), readdir(dir)]);
    const chunkNames = names.filter((name) => /^demo-[\w-]+\.js$/.test(name));
    const chunks = Object.fromEntries(await Promise.all(chunkNames.map(async (name) => [name, await readFile(new URL(name, dir), 'utf8')] as const)));
    return { html, js, chunks };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
