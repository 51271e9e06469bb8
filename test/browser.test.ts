// @voxpipe/browser in Debian's Chromium (playwright-core): the shared browser
// tests (support/browser/suite.ts). Skipped where /usr/bin/chromium is missing.
import { chromium } from './support/browser/chromium.js';
import { browserSuite } from './support/browser/suite.js';

browserSuite(chromium);
