import { createServer } from '@voxpipe/server';

/** A server started in this process on a free loopback port, with a key made for this run only. */
export interface EmbeddedServer {
  url: string;
  apiKey: string;
  close(): Promise<void>;
}

/**
 * Starts the reference server with the embedded speech engine: no key to
 * configure, no network. It accepts `apiKey` when one is given (a key from
 * `--api-key` or VOXPIPE_API_KEY, meant for a remote server, still works
 * here), else a key made for this run.
 */
export async function startEmbeddedServer(apiKey: string = `embedded-${crypto.randomUUID()}`): Promise<EmbeddedServer> {
  const server = createServer({ keys: [apiKey], logger: false, env: {} });
  const listening = await server.listen({ port: 0, host: '127.0.0.1' });
  await server.ready();
  return {
    url: listening.url,
    apiKey,
    async close() {
      // The engine's worker threads do not keep the process alive (by design), so a close that
      // waits on them (an engine still starting) must: otherwise Node ends with the work half done.
      const hold = setInterval(() => {}, 60_000);
      try {
        await listening.close();
        await server.close();
      } finally {
        clearInterval(hold);
      }
    },
  };
}
