import { createServer } from '@voxpipe/server';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Comma-separated API keys; otherwise VOXPIPE_API_KEYS, the keys file, or a generated development key. */
  keys?: string;
}

/** Runs the reference server until the signal aborts. */
export async function serve(options: ServeOptions, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  const keys = options.keys ? options.keys.split(',').map((k) => k.trim()).filter(Boolean) : undefined;
  const server = createServer({ keys });
  const listening = await server.listen({ port: options.port ?? 8787, host: options.host ?? '127.0.0.1' });
  await server.ready();
  // The server itself logs where it listens (and a development key, when it made one).
  log(`  POST ${listening.url}/v1/tts/stream   GET ${listening.url}/v1/models   GET ${listening.url}/v1/voices`);
  log(`  browser player: ${listening.url}/${server.developmentKey ? `?key=${server.developmentKey}` : ''}`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await listening.close();
  await server.close();
}
