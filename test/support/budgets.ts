// Time limits for tests, in one place. A limit here only catches a hang: none is a speed
// requirement, each is far beyond what a busy machine needs, and a test's own limit (vitest's
// timeout) is made from the limits of what it waits for — a child process, a server or engine
// start, a browser launch — so the inner wait always fails first, with its own clear message.
// Work that grows with the machine's speed (soaks, load) is measured in counts, never in time.

/** A `tsx` child process running a voxpipe command, example or helper script. */
export const CHILD_MS = 120_000;
/** Chromium's launch (playwright-core's launch timeout is set to this). */
export const BROWSER_LAUNCH_MS = 120_000;
/** One playwright wait in a page: a navigation, a function, a selector. */
export const PAGE_WAIT_MS = 60_000;
/** Waiting for a server or engine to settle after a request (streams closed, workers free). */
export const SETTLE = { timeout: 30_000, interval: 25 } as const;
/** One run of a pipeline or request through the real server and espeak engine. */
export const RUN_MS = 60_000;
/** Starting an espeak engine (worker threads loading their WebAssembly) and a server. */
export const START_MS = 60_000;
/** vitest's own margin on top of the inner waits: the test's work between them. */
export const MARGIN_MS = 60_000;

/** An in-process test (vitest's default limit): its own work and up to two waits for things to settle. */
export const IN_PROCESS_MS = 2 * SETTLE.timeout + MARGIN_MS;

/** vitest's limit for a test (or hook) made of these bounded waits, one after another, plus the margin. */
export function limitFor(...waits: number[]): number {
  return waits.reduce((sum, ms) => sum + ms, MARGIN_MS);
}

/** Waits (up to SETTLE.timeout) until `done()` holds, checking every SETTLE.interval; returns whether it did. */
export async function eventually(done: () => boolean): Promise<boolean> {
  const deadline = performance.now() + SETTLE.timeout;
  while (!done() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, SETTLE.interval));
  return done();
}
