import type { Context } from 'hono';
import { ApiError } from './api-error.js';

/**
 * Reads a request's body as a JSON object, or throws a 400: `invalid-json`
 * when it does not parse, `invalid-body` when it is not an object (`example`
 * shows the caller what to send). Its size is bounded before it is read
 * (`limitBody`), so this never reads more than the limit.
 *
 * ```ts
 * const body = await readJsonObject(c, '{"origin": "https://app.example"}');
 * ```
 */
export async function readJsonObject(c: Context, example?: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch (error) {
    if (error instanceof SyntaxError) throw new ApiError(400, 'invalid-json', `The body is not valid JSON: ${error.message}`);
    throw error;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'invalid-body', `The body must be a JSON object${example ? `: ${example}` : ''}`);
  return body as Record<string, unknown>;
}
