/** The body of every error response: `{ error: { code, message } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/**
 * An error the API gives its caller: an HTTP status, a code to branch on, a
 * message in words, and extra headers (e.g. `Retry-After`). Route and
 * middleware code throws it; `app.onError` turns it into the JSON response
 * (see `errorHandler`), so every error leaves the server the same way.
 *
 * ```ts
 * throw new ApiError(429, 'rate-limited', 'Too many requests for this key', { 'Retry-After': '2' });
 * ```
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = { ...headers };
  }

  /** The JSON response this error is sent as. */
  toResponse(): Response {
    const body: ApiErrorBody = { error: { code: this.code, message: this.message } };
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...this.headers },
    });
  }
}
