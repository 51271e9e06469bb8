import type { IncomingMessage } from 'node:http';

/**
 * What the server's Hono app carries per request: the key id auth found,
 * the stream slot the limits middleware holds, and (on Node) the raw
 * request and response: the body is read from the request (bounded, after
 * the key is checked), the client's address is its socket's, and a stream
 * that fails mid-way can cut the connection.
 */
export type AppEnv = {
  Bindings: {
    /** Set by `@hono/node-server`; absent when `app.fetch` is called directly. */
    incoming?: IncomingMessage;
    /** Set by `@hono/node-server`; absent when `app.fetch` is called directly. */
    outgoing?: { destroy(): void; writeContinue?(): void };
  };
  Variables: {
    /** The id of the key the request speaks for (an API key, or the key that issued its browser token). */
    keyId: string;
    /** Hands the request's stream slot to the response body, which releases it when it ends. */
    takeStreamSlot: () => () => void;
    /** The request's id, for its log line and `X-Request-Id`. */
    requestId: string;
  };
};
