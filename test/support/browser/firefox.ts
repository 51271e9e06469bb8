// Debian's firefox-esr through puppeteer-core over WebDriver BiDi, as a
// BrowserDriver, with a PulseAudio sound server (pulse.ts) so its
// AudioContext runs: a null sink where the machine has no sound card.
import { existsSync } from 'node:fs';
import puppeteer, { type HTTPRequest } from 'puppeteer-core';
import { BROWSER_LAUNCH_MS, PAGE_WAIT_MS } from '../budgets.js';
import type { BrowserDriver, BrowserLauncher, RoutedRequest, RoutedResponse } from './driver.js';
import { PULSEAUDIO, soundServer } from './pulse.js';

export const FIREFOX = process.env.VOXPIPE_FIREFOX ?? '/usr/bin/firefox-esr';

const PREFS = {
  // Content processes sandboxed under puppeteer here end with "Target closed".
  'security.sandbox.content.level': 0,
  // Web Audio through the PulseAudio server started for the test.
  'media.cubeb.backend': 'pulse',
  // Audio may start without a gesture, as Chromium's --autoplay-policy=no-user-gesture-required.
  'media.autoplay.default': 0,
  'media.autoplay.block-webaudio': false,
};

const missing = [FIREFOX, PULSEAUDIO].filter((path) => !existsSync(path));

/**
 * firefox-esr with a fresh profile (puppeteer's, removed on close) and a sound server; `close`
 * stops both. Launch and page waits give up after BROWSER_LAUNCH_MS and PAGE_WAIT_MS (hangs only).
 */
export const firefox: BrowserLauncher = {
  name: 'firefox',
  skipReason: missing.length === 0 ? undefined : `firefox-esr browser tests skipped: missing ${missing.join(' and ')} (apt-get install firefox-esr pulseaudio, or set VOXPIPE_FIREFOX / VOXPIPE_PULSEAUDIO)`,
  mseMp3: false,
  async launch(): Promise<BrowserDriver> {
    const sound = await soundServer();
    const browser = await puppeteer
      .launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, timeout: BROWSER_LAUNCH_MS, extraPrefsFirefox: PREFS, env: { ...process.env, ...sound.env } })
      .catch(async (error: unknown) => {
        await sound.stop();
        throw error;
      });
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    page.setDefaultTimeout(PAGE_WAIT_MS);
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
    const routes = new Map<string, (request: RoutedRequest) => Promise<RoutedResponse>>();
    page.on('request', (request: HTTPRequest) => {
      if (!request.isInterceptResolutionHandled?.() && routes.size > 0) void answer(request);
    });
    async function answer(request: HTTPRequest): Promise<void> {
      const handler = routes.get(request.url());
      if (!handler) return request.continue();
      const data = request.hasPostData() ? await request.fetchPostData() : undefined;
      const reply = await handler({ method: request.method(), headers: request.headers(), body: data === undefined ? undefined : new TextEncoder().encode(data) });
      await request.respond({ status: reply.status, headers: reply.headers, body: Buffer.from(reply.body) });
    }
    return {
      name: 'firefox',
      log,
      goto: async (url) => void (await page.goto(url)),
      evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
      waitForFunction: async (fn) => void (await page.waitForFunction(fn)),
      waitForSelector: async (selector) => void (await page.waitForSelector(selector)),
      addScript: async (content) => void (await page.addScriptTag({ content })),
      click: (selector) => page.click(selector),
      fill: async (selector, value) =>
        void (await page.evaluate(
          ([s, v]) => {
            const element = document.querySelector(s) as HTMLInputElement;
            element.value = v;
            element.dispatchEvent(new Event('input', { bubbles: true }));
          },
          [selector, value] as const,
        )),
      async route(url, handler) {
        routes.set(url, handler);
        if (routes.size === 1) await page.setRequestInterception(true);
      },
      async unroute(url) {
        routes.delete(url);
        if (routes.size === 0) await page.setRequestInterception(false);
      },
      async close() {
        await browser.close();
        await sound.stop();
      },
    };
  },
};
