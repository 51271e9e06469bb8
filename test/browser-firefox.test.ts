// @voxpipe/browser in Debian's firefox-esr (puppeteer-core over WebDriver
// BiDi, a PulseAudio null sink for its audio): the same browser tests as
// Chromium (support/browser/suite.ts). Skipped where firefox-esr or pulseaudio
// is missing.
import { firefox } from './support/browser/firefox.js';
import { browserSuite } from './support/browser/suite.js';

browserSuite(firefox);
