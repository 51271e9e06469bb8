import { VoxpipeError } from '../errors.js';

/**
 * Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date);
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now) / 1000);
}

/** The server's own words from an error body: `{ error: { message } }`, `{ message }`, `{ error: '…' }` or plain text. */
export function messageFromBody(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    const json = JSON.parse(trimmed) as unknown;
    if (json && typeof json === 'object') {
      const body = json as { error?: unknown; message?: unknown; detail?: unknown };
      const nested = body.error && typeof body.error === 'object' ? (body.error as { message?: unknown }).message : undefined;
      for (const candidate of [nested, body.message, body.error, body.detail]) {
        if (typeof candidate === 'string' && candidate) return candidate;
      }
    }
  } catch {
    // not JSON: the text itself is the message
  }
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed;
}

/**
 * The typed error for an HTTP status: `auth` (401/403), `rate-limit` (429,
 * with `retryAfter`), `server` (5xx, retryable, with `retryAfter` when sent),
 * `bad-request` (400, 413 and every other 4xx, carrying the server's message).
 *
 * ```ts
 * if (!response.ok) throw errorFromStatus(response.status, await response.text(), response.headers, 'ttsSource');
 * ```
 */
export function errorFromStatus(status: number, bodyText: string, headers: Pick<Headers, 'get'> | undefined, stage?: string): VoxpipeError {
  const said = messageFromBody(bodyText);
  const retryAfter = parseRetryAfter(headers?.get('retry-after'));
  const detail = said ? `: ${said}` : '';
  if (status === 401 || status === 403) {
    return new VoxpipeError('auth', `The server refused the API key (HTTP ${status})${detail}`, { stage, status });
  }
  if (status === 429) {
    return new VoxpipeError('rate-limit', `Too many requests (HTTP 429)${detail}`, { stage, status, retryAfter });
  }
  if (status >= 500) {
    return new VoxpipeError('server', `The server failed (HTTP ${status})${detail}`, { stage, status, retryAfter });
  }
  return new VoxpipeError('bad-request', said ?? `The server rejected the request (HTTP ${status})`, { stage, status });
}

/** Reads an error response's body (bounded by the signal) and turns it into a typed error. */
export async function errorFromResponse(response: Response, stage?: string): Promise<VoxpipeError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body failed too: the status alone says enough
  }
  return errorFromStatus(response.status, text, response.headers, stage);
}
