import { defineConfig } from 'vitest/config';
import { IN_PROCESS_MS, limitFor, START_MS } from './test/support/budgets.js';

// Every limit here catches a hang, never slowness (see test/support/budgets.ts). A test that waits on
// more than these (a child process, a browser, many runs through the server) says so with its own limit.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: IN_PROCESS_MS,
    hookTimeout: limitFor(START_MS), // a hook starts engines, servers and fixtures
  },
});
