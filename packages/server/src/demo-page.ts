import { readFile } from 'node:fs/promises';

/** The browser player the server shows at GET /: its HTML and its one script. */
export interface DemoPage {
  html: string;
  js: string;
}

/** Where the build puts the page: `dist/demo/` of this package (the same folder seen from `src/` and from `dist/`). */
export const DEMO_DIR = new URL('../dist/demo/', import.meta.url);

/**
 * Reads the demo player that the package build bundled from
 * `@voxpipe/browser` (`index.html` and `demo.js` in `dist/demo/`). The server
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
    const [html, js] = await Promise.all([readFile(new URL('index.html', dir), 'utf8'), readFile(new URL('demo.js', dir), 'utf8')]);
    return { html, js };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
