import { Hono } from 'hono';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import { OUTPUT_RATE } from '../audio.js';
import { DEFAULT_MODEL, MODELS } from '../catalog.js';
import { loadDemoPage, type DemoPage } from '../demo-page.js';
import type { EngineHost } from '../engine-host.js';
import { describeError, type Logger } from '../logger.js';
import { indexPage } from '../page.js';

export interface MetaRoutesDeps {
  engines: EngineHost;
  /** Streams open now, for /healthz. */
  openStreams(): number;
  /** True while the server drains before it stops: /readyz answers 503. */
  draining?(): boolean;
  /** Where the limits are kept now (`memory`, `redis`, `local-fallback`), for /healthz. */
  limits?(): string;
  /** `false` serves the plain listing at GET / instead of the browser player. */
  demoPage?: boolean;
  logger: Logger;
  /** Where the demo page comes from; for tests. Default: the one the package build bundled. */
  loadDemo?: () => Promise<DemoPage | undefined>;
}

/**
 * What the server says about itself: GET /healthz (liveness: 503 only while
 * the engine starts), /readyz (readiness: 503 while starting and while
 * draining before a shutdown, so a balancer sends new work elsewhere), /v1/models, /v1/voices (`?language=`), and at / the browser
 * player (its script at /demo.js, the chunks it loads on demand at /demo-….js), or the plain listing where the player was
 * not built or `demoPage` is `false`.
 *
 * ```ts
 * app.route('/', metaRoutes({ engines, openStreams: () => limiter.openStreams, logger }));
 * ```
 */
export function metaRoutes(deps: MetaRoutesDeps): Hono<AppEnv> {
  const { engines, logger } = deps;
  const loadDemo = deps.loadDemo ?? loadDemoPage;
  let demo: Promise<DemoPage | undefined> | undefined;
  const demoPage = () => {
    if (deps.demoPage === false) return Promise.resolve(undefined);
    return (demo ??= loadDemo().then(
      (page) => {
        if (!page) logger.warn('demo page not built (run the build), serving the plain listing');
        return page;
      },
      (error: unknown) => {
        logger.warn(`demo page unavailable, serving the plain listing: ${describeError(error)}`);
        return undefined;
      },
    ));
  };

  return new Hono<AppEnv>()
    .get('/healthz', (c) => {
      const ready = engines.current();
      if (!ready) return c.json({ ok: false, status: 'starting' }, 503);
      return c.json({ ok: true, engine: ready.engine.name, sampleRate: OUTPUT_RATE, openStreams: deps.openStreams(), ...(deps.limits ? { limits: deps.limits() } : {}) });
    })
    .get('/readyz', (c) => {
      if (deps.draining?.()) return c.json({ ready: false, status: 'draining' }, 503, { 'Retry-After': '5' });
      if (!engines.current()) return c.json({ ready: false, status: 'starting' }, 503);
      return c.json({ ready: true });
    })
    .get('/v1/models', (c) =>
      c.json({
        models: MODELS.map((m) => ({ id: m.id, streaming: m.path, defaultFormat: m.defaultFormat, speed: m.speed, pitch: m.pitch, description: m.description })),
        default: DEFAULT_MODEL,
      }),
    )
    .get('/v1/voices', async (c) => {
      const { catalog } = await engines.ready();
      const language = c.req.query('language')?.toLowerCase();
      const voices = catalog.filter((voice) => !language || voice.language.toLowerCase() === language);
      return c.json({ voices: voices.map(({ name, language: lang, gender, engineVoice }) => ({ name, language: lang, gender, engineVoice })) });
    })
    .get('/', async (c) => {
      const { engine, catalog } = await engines.ready();
      const page = await demoPage();
      return page ? c.html(page.html) : c.html(indexPage(MODELS, catalog, engine.name));
    })
    .get('/demo.js', async (c) => {
      const page = await demoPage();
      if (!page) throw new ApiError(404, 'not-found', 'There is no demo script on this server');
      return c.body(page.js, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
    })
    .get('/:chunk{demo-[\\w-]+\\.js}', async (c) => {
      const page = await demoPage();
      const chunk = page?.chunks && Object.hasOwn(page.chunks, c.req.param('chunk')) ? page.chunks[c.req.param('chunk')] : undefined;
      if (chunk === undefined) throw new ApiError(404, 'not-found', 'There is no such demo script on this server');
      // a chunk's name holds a hash of its content: it never changes under its name
      return c.body(chunk, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=31536000, immutable' });
    });
}
