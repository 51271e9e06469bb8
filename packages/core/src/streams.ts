/**
 * The WHATWG stream classes voxpipe builds with: the platform's own where it
 * has them (Node ≥ 18, browsers, workers), web-streams-polyfill's ponyfill
 * where it does not. Globals are never patched. The ponyfill is imported
 * only where the globals are missing (a dynamic import behind the check), so
 * a bundle for browsers that have streams loads it never: bundlers put it in
 * a chunk of its own that such a browser does not fetch.
 */
const g = globalThis as Partial<typeof globalThis>;
const native = typeof g.ReadableStream === 'function' && typeof g.WritableStream === 'function' && typeof g.TransformStream === 'function';

interface StreamClasses {
  ReadableStream: typeof globalThis.ReadableStream;
  WritableStream: typeof globalThis.WritableStream;
  TransformStream: typeof globalThis.TransformStream;
}

const classes: StreamClasses = native ? (g as StreamClasses) : ((await import('web-streams-polyfill')) as unknown as StreamClasses);

export const ReadableStream: typeof globalThis.ReadableStream = classes.ReadableStream;
export const WritableStream: typeof globalThis.WritableStream = classes.WritableStream;
export const TransformStream: typeof globalThis.TransformStream = classes.TransformStream;

/** Which implementation is in use: `native` or `ponyfill`. */
export const streamsRuntime: 'native' | 'ponyfill' = native ? 'native' : 'ponyfill';
