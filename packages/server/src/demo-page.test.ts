import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemoPage } from './demo-page.js';

const dir = mkdtempSync(join(tmpdir(), 'voxpipe-demo-page-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadDemoPage', () => {
  it('reads the page, its script and the chunks beside it (demo-….js, nothing else); undefined where nothing was built', async () => {
    const url = pathToFileURL(`${dir}/`);
    expect(await loadDemoPage(url)).toBeUndefined();
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'demo.js'), 'import("./demo-mp3-decoder-AB12.js")');
    writeFileSync(join(dir, 'demo-mp3-decoder-AB12.js'), 'export {}');
    writeFileSync(join(dir, 'notes.txt'), 'not a script');
    expect(await loadDemoPage(url)).toEqual({ html: '<!doctype html>', js: 'import("./demo-mp3-decoder-AB12.js")', chunks: { 'demo-mp3-decoder-AB12.js': 'export {}' } });
  });
});
