import { cors } from 'hono/cors';

/** Headers a page may read from a response: what the audio is, where a range sits, when to retry. */
const EXPOSED_HEADERS = ['Content-Type', 'Content-Length', 'Content-Range', 'Accept-Ranges', 'X-Audio-Format', 'X-Audio-Encoding', 'X-Sample-Rate', 'X-Channels', 'X-Model', 'Retry-After'];

/**
 * CORS for the API: any origin (`'*'`; keys, not cookies, guard the API) or
 * only those listed; a preflight grants the key, token, Range and Accept
 * headers, and responses expose the audio headers.
 *
 * ```ts
 * app.use('*', corsFor(['https://app.example']));
 * ```
 */
export function corsFor(origins: '*' | readonly string[]) {
  return cors({
    origin: origins === '*' ? '*' : (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['X-API-Key', 'Authorization', 'X-API-Token', 'Content-Type', 'Range', 'Accept'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
