import { createServer } from '@voxpipe/server';

/** A server started in this process on a free loopback port, with a key made for this run only. */
export interface EmbeddedServer {
  url: string;
  apiKey: string;
  close(): Promise<void>;
}

/** Starts the reference server with the embedded speech engine: no key to configure, no network. */
export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const apiKey = `embedded-${crypto.randomUUID()}`;
  const server = createServer({ keys: [apiKey], logger: false, env: {} });
  const listening = await server.listen({ port: 0, host: '127.0.0.1' });
  await server.ready();
  return {
    url: listening.url,
    apiKey,
    async close() {
      await listening.close();
      await server.close();
    },
  };
}
