import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import type { ServerMetrics } from '../metrics.js';

export interface MetricsRouteDeps {
  metrics: ServerMetrics;
  /** Scrapers must send `Authorization: Bearer <token>`. */
  token?: string;
  /** Without a token: only scrapers on this machine (loopback addresses) are answered. */
  loopbackOnly: boolean;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * GET /metrics: the server's metrics in Prometheus' text format, for a
 * scraper holding the metrics token (compared in constant time), or — with
 * no token — for one on this machine only; anyone else gets 401 / 403.
 *
 * ```ts
 * app.route('/', metricsRoutes({ metrics, token: process.env.METRICS_TOKEN, loopbackOnly: true }));
 * ```
 */
export function metricsRoutes(deps: MetricsRouteDeps): Hono<AppEnv> {
  const expected = deps.token === undefined ? undefined : digest(deps.token);
  return new Hono<AppEnv>().get('/metrics', async (c) => {
    if (expected) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
      if (given === undefined || !timingSafeEqual(digest(given), expected)) throw new ApiError(401, 'unauthorized', 'The metrics need their token: Authorization: Bearer <metrics token>');
    } else if (deps.loopbackOnly) {
      const address = c.env?.incoming?.socket?.remoteAddress;
      if (address !== undefined && !LOOPBACK.test(address)) throw new ApiError(403, 'forbidden', 'The metrics are served to this machine only (set a metrics token to scrape them from elsewhere)');
    }
    return c.body(await deps.metrics.scrape(), 200, { 'Content-Type': deps.metrics.contentType, 'Cache-Control': 'no-store' });
  });
}
