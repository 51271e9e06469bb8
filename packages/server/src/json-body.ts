import type { Context } from 'hono';
import { ApiError } from './api-error.js';
import type { AppEnv } from './app-env.js';
import { readBody, type BodyLimits } from './body.js';

/**
 * Reads a request's body as a JSON object, or throws: 413 / 408 when it is
 * too large or too slow (`readBody`, which never reads past the limit),
 * 400 `invalid-json` when it does not parse, `invalid-body` when it is not
 * an object (`example` shows the caller what to send).
 *
 * ```ts
 * const body = await readJsonObject(c, { maxBytes: 4096, timeoutMs: 20_000 }, '{"origin": "https://app.example"}');
 * ```
 */
export async function readJsonObject(c: Context<AppEnv>, limits: BodyLimits, example?: string): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await readBody(c, limits));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw new ApiError(400, 'invalid-json', `The body is not valid JSON: ${error.message}`);
    throw error;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'invalid-body', `The body must be a JSON object${example ? `: ${example}` : ''}`);
  return body as Record<string, unknown>;
}
