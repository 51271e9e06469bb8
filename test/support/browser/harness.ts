// Browser-test plumbing: Debian's Chromium through playwright-core, a small
// node:http server on 127.0.0.1 for pages and esbuild bundles, and the check
// that skips the suite (with a clear message) where Chromium is missing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { BROWSER_LAUNCH_MS, PAGE_WAIT_MS } from '../budgets.js';

export const CHROMIUM = process.env.VOXPIPE_CHROMIUM ?? '/usr/bin/chromium';
/** Why the browser suite is skipped here, or undefined when it runs. */
export const skipReason = existsSync(CHROMIUM) ? undefined : `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set VOXPIPE_CHROMIUM)`;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console lines and page errors, for failure messages. */
  log: string[];
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile in a temp dir; `close` removes it. The launch gives up after
 * BROWSER_LAUNCH_MS, and every wait in the page (navigation, waitForFunction, waitForSelector)
 * after PAGE_WAIT_MS: limits for hangs, far past what a busy machine needs.
 */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'voxpipe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: BROWSER_LAUNCH_MS });
  context.setDefaultTimeout(PAGE_WAIT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const log: string[] = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    log,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Bundles a browser entry point in memory (one ESM file). */
export async function bundle(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'chrome110', write: false, logLevel: 'silent' });
  return result.outputFiles[0].text;
}

export interface Route {
  type: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface PageServer {
  url: string;
  /** Adds or replaces what a path answers. */
  set(path: string, route: Route): void;
  close(): Promise<void>;
}

/** Serves fixed routes on 127.0.0.1 (port 0). `?isolated` on any URL adds COOP/COEP, making the page crossOriginIsolated. */
export async function startPageServer(routes: Record<string, Route> = {}): Promise<PageServer> {
  const table = new Map(Object.entries(routes));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = table.get(url.pathname);
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': route.type, 'Cache-Control': 'no-store', ...route.headers };
    if (url.searchParams.has('isolated') || req.headers.referer?.includes('isolated')) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    res.writeHead(200, headers).end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (path, route) => void table.set(path, route),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
