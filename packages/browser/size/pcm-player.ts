// What a page that plays PCM speech imports: the size budget's "PCM player"
// (see .size-limit.js; `npx size-limit` prints it).
export { pipeline, ttsSource } from '@voxpipe/core';
export { audioWorkletSink, unlock } from '../src/index.js';
