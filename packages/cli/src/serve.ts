import { createServer } from '@voxpipe/server';
import type { ServeSettings } from './serve-config.js';

/** Runs the reference server with checked settings (see `serveSettings`) until the signal aborts, then drains it (`drainMs`) and stops. */
export async function serve(settings: ServeSettings, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  const server = createServer({
    keys: settings.keys,
    keysFile: settings.keysFile,
    // Every engine worker warmed thoroughly before /readyz says ready: a fresh worker's first jobs are many times slower;
    // the workers 5 nice levels below the server's own thread, so accepting requests and sending first bytes go first on a busy machine.
    engineOptions: { warm: 'full', workerNice: 5 },
    cors: settings.corsOrigins === undefined ? undefined : { origins: settings.corsOrigins },
    trustProxy: settings.trustProxy,
    limits: settings.limits,
    redis: settings.redis === undefined ? undefined : { url: settings.redis, whenDown: settings.redisWhenDown },
    cache: { maxBytes: settings.cacheBytes },
    metrics: { token: settings.metricsToken, port: settings.metricsPort },
  });
  const listening = await server.listen({ port: settings.port, host: settings.host });
  await server.ready();
  // The server itself logs where it listens (and a development key, when it made one).
  log(`  POST ${listening.url}/v1/tts/stream   GET ${listening.url}/v1/models   GET ${listening.url}/v1/voices`);
  log(`  browser player: ${listening.url}/${server.developmentKey ? `?key=${server.developmentKey}` : ''}`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // Drain: /readyz 503 and new work 503 at once; open streams get drainMs to finish, then are cut.
  await server.close({ drainMs: settings.drainMs });
}
