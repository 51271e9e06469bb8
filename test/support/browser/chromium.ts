// Debian's Chromium through playwright-core, as a BrowserDriver.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium as playwright } from 'playwright-core';
import { BROWSER_LAUNCH_MS, PAGE_WAIT_MS } from '../budgets.js';
import type { BrowserDriver, BrowserLauncher } from './driver.js';

export const CHROMIUM = process.env.VOXPIPE_CHROMIUM ?? '/usr/bin/chromium';

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

/**
 * Chromium with a fresh profile in a temp dir; `close` removes it. The launch gives up after
 * BROWSER_LAUNCH_MS, and every wait in the page (navigation, waitForFunction, waitForSelector)
 * after PAGE_WAIT_MS: limits for hangs, far past what a busy machine needs.
 */
export const chromium: BrowserLauncher = {
  name: 'chromium',
  skipReason: existsSync(CHROMIUM) ? undefined : `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set VOXPIPE_CHROMIUM)`,
  mseMp3: true,
  async launch(): Promise<BrowserDriver> {
    const profile = mkdtempSync(join(tmpdir(), 'voxpipe-chromium-'));
    const context = await playwright.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: BROWSER_LAUNCH_MS });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(PAGE_WAIT_MS);
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    return {
      name: 'chromium',
      log,
      goto: async (url) => void (await page.goto(url)),
      evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
      waitForFunction: async (fn) => void (await page.waitForFunction(fn)),
      waitForSelector: async (selector) => void (await page.waitForSelector(selector)),
      addScript: async (content) => void (await page.addScriptTag({ content })),
      click: (selector) => page.click(selector),
      fill: (selector, value) => page.fill(selector, value),
      route: async (url, handler) =>
        void (await page.route(url, async (route) => {
          const request = route.request();
          const body = request.postDataBuffer();
          const answer = await handler({ method: request.method(), headers: request.headers(), body: body ? new Uint8Array(body) : undefined });
          await route.fulfill({ status: answer.status, headers: answer.headers, body: Buffer.from(answer.body) });
        })),
      unroute: (url) => page.unroute(url),
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  },
};
