// What the browser tests ask of a browser, whichever drives it: Chromium
// through playwright-core (chromium.ts), Firefox through puppeteer-core over
// WebDriver BiDi (firefox.ts). The tests (suite.ts) see only this.

/** A request the page made to a routed URL. */
export interface RoutedRequest {
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** The answer a route gives. */
export interface RoutedResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** One launched browser with the one page every test reuses. */
export interface BrowserDriver {
  /** `chromium` or `firefox`. */
  readonly name: string;
  /** Console lines and page errors, for failure messages. */
  readonly log: string[];
  goto(url: string): Promise<void>;
  /** Runs `fn(arg)` in the page and returns its (JSON-able) value. */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Waits until `fn()` is truthy in the page. */
  waitForFunction(fn: () => unknown): Promise<void>;
  waitForSelector(selector: string): Promise<void>;
  addScript(content: string): Promise<void>;
  /** A real (trusted) click: the browser counts it as a user gesture. */
  click(selector: string): Promise<void>;
  fill(selector: string, value: string): Promise<void>;
  /** Answers the page's requests to exactly this URL (CORS preflights included) with `handler`. */
  route(url: string, handler: (request: RoutedRequest) => Promise<RoutedResponse>): Promise<void>;
  unroute(url: string): Promise<void>;
  close(): Promise<void>;
}

/** How to start one browser, and what it is known to support. */
export interface BrowserLauncher {
  readonly name: string;
  /** Why this browser's tests are skipped here (its executable is missing), or undefined. */
  readonly skipReason: string | undefined;
  /** Media Source Extensions play `audio/mpeg` (Chromium yes, Firefox on Linux no). */
  readonly mseMp3: boolean;
  launch(): Promise<BrowserDriver>;
}

/** Reads a DOM element's text, attribute or value through `evaluate`, the same in every browser. */
export const read = {
  text: (b: BrowserDriver, selector: string) => b.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector),
  attribute: (b: BrowserDriver, selector: string, name: string) => b.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [selector, name] as const),
  value: (b: BrowserDriver, selector: string) => b.evaluate((s) => (document.querySelector(s) as HTMLInputElement | null)?.value ?? null, selector),
  optionValues: (b: BrowserDriver, selector: string) => b.evaluate((s) => [...document.querySelectorAll(`${s} option`)].map((o) => (o as HTMLOptionElement).value), selector),
};
