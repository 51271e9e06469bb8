// What a page that plays MP3 speech imports: the PCM player and decode(),
// whose MP3 decoder (mpg123-decoder) is fetched on demand (see .size-limit.js).
export { pipeline, ttsSource } from '@voxpipe/core';
export { decode } from '@voxpipe/codecs';
export { audioWorkletSink, unlock } from '../src/index.js';
