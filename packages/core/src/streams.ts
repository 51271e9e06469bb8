/**
 * The WHATWG stream classes voxpipe builds with: the platform's own where it
 * has them (Node ≥ 18, browsers, workers), web-streams-polyfill's ponyfill
 * where it does not. Globals are never patched.
 */
import * as ponyfill from 'web-streams-polyfill';

const g = globalThis as Partial<typeof globalThis>;
const native = typeof g.ReadableStream === 'function' && typeof g.WritableStream === 'function' && typeof g.TransformStream === 'function';

export const ReadableStream: typeof globalThis.ReadableStream = native
  ? g.ReadableStream!
  : (ponyfill.ReadableStream as unknown as typeof globalThis.ReadableStream);
export const WritableStream: typeof globalThis.WritableStream = native
  ? g.WritableStream!
  : (ponyfill.WritableStream as unknown as typeof globalThis.WritableStream);
export const TransformStream: typeof globalThis.TransformStream = native
  ? g.TransformStream!
  : (ponyfill.TransformStream as unknown as typeof globalThis.TransformStream);

/** Which implementation is in use: `native` or `ponyfill`. */
export const streamsRuntime: 'native' | 'ponyfill' = native ? 'native' : 'ponyfill';
