import { cors } from 'hono/cors';

/** Headers a page may read from a response: what the audio is, where a range sits and which stream it is of, when to retry. */
const EXPOSED_HEADERS = ['Content-Type', 'Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag', 'X-Audio-Format', 'X-Audio-Content-Type', 'X-Audio-Delay-Samples', 'X-Audio-Encoding', 'X-Sample-Rate', 'X-Channels', 'X-Model', 'Retry-After'];

/**
 * CORS for the API: any origin (`'*'`; keys, not cookies, guard the API) or
 * only those listed; a preflight grants the key, token, Range, If-Range
 * and Accept headers, and responses expose the audio headers and the ETag.
 *
 * ```ts
 * app.use('*', corsFor(['https://app.example']));
 * ```
 */
export function corsFor(origins: '*' | readonly string[]) {
  return cors({
    origin: origins === '*' ? '*' : (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['X-API-Key', 'Authorization', 'X-API-Token', 'Content-Type', 'Range', 'If-Range', 'Accept'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
