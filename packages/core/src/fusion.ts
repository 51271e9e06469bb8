// What runs synchronous stages together, loaded (import()) by the first run
// that has any: a page whose stages all stream on their own never fetches it.
export { fuseTransformers } from './fuse.js';
export { OutputEnded, sinkAfter } from './fused-sink.js';
