import type { ErrorHandler, NotFoundHandler } from 'hono';
import { ApiError } from '../api-error.js';
import { ClientGone } from '../body.js';
import type { Logger } from '../logger.js';

/**
 * The app's one error mapping (`app.onError`): an `ApiError` becomes its JSON
 * response; a client that closed the connection mid-body is one warn line
 * (no stack: nothing failed on this side); anything else is logged in full
 * and sent as a 500 `internal` that says nothing about its cause.
 *
 * ```ts
 * app.onError(errorHandler(logger));
 * ```
 */
export function errorHandler(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return error.toResponse();
    if (error instanceof ClientGone) {
      logger.warn(`${c.req.method} ${c.req.path}: ${error.message}`);
      return new ApiError(499, 'aborted', 'The client closed the connection').toResponse();
    }
    logger.error(`${c.req.method} ${c.req.path} failed: ${error.stack ?? error.message}`);
    return new ApiError(500, 'internal', 'Internal server error').toResponse();
  };
}

/**
 * The app's `notFound`: a JSON 404 naming the method and path.
 *
 * ```ts
 * app.notFound(notFound);
 * ```
 */
export const notFound: NotFoundHandler = (c) => new ApiError(404, 'not-found', `No route for ${c.req.method} ${c.req.path}`).toResponse();

/**
 * A handler for a path's other methods: 405 with `Allow`.
 *
 * ```ts
 * app.all('/v1/tokens', methodNotAllowed('POST', '/v1/tokens'));
 * ```
 */
export function methodNotAllowed(method: string, path: string) {
  return (): never => {
    throw new ApiError(405, 'method-not-allowed', `Use ${method} ${path}`, { Allow: `${method}, OPTIONS` });
  };
}
