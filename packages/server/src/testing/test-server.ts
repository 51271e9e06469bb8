import type { Engine } from '@voxpipe/core';
import { loadEngine } from '../engine-loader.js';
import { createServer, type ListeningServer, type VoxpipeServer } from '../server.js';
import { engineModuleName, type ServerOptions } from '../server-options.js';

export interface TestServerOptions<E extends Engine = Engine> extends Omit<ServerOptions, 'engine'> {
  /** The engine to serve with (closed by `close()`); default: the engine package the server would load, started here. */
  engine?: E | Promise<E>;
  /** Worker threads for the engine started here (default 1: tests share the machine); ignored when `engine` is given. */
  workers?: number;
}

export interface TestServer<E extends Engine = Engine> {
  server: VoxpipeServer;
  listening: ListeningServer;
  /** The server's base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The API key to send in `X-API-Key`. */
  key: string;
  engine: E;
  /** Stops the server and closes the engine. */
  close(): Promise<void>;
}

/** The key a test server accepts when the test names none. */
export const TEST_KEY = 'test-key-0123456789';

/**
 * A real /v1/tts/stream server for your own tests: listening on 127.0.0.1
 * (a free port), silent, reading no keys from the environment, with one
 * key (`keys[0]`, or `TEST_KEY`) and an engine (the one given, or the
 * engine package the server would load, started with one worker).
 * `close()` stops both.
 *
 * ```ts
 * const t = await startTestServer();
 * const res = await fetch(`${t.url}/v1/tts/stream`, { method: 'POST', headers: { 'X-API-Key': t.key }, body: JSON.stringify({ text: 'Hi.' }) });
 * await t.close();
 * ```
 */
export async function startTestServer<E extends Engine = Engine>(options: TestServerOptions<E> = {}): Promise<TestServer<E>> {
  const { engine: given, workers = 1, ...rest } = options;
  const engine = await (given ?? (loadEngine(engineModuleName(options.engineModule, options.env), { workers }) as Promise<E>));
  const key = options.keys?.[0] ?? TEST_KEY;
  try {
    const server = createServer({ logger: false, env: {}, keys: [key], ...rest, engine });
    const listening = await server.listen({ port: 0, host: '127.0.0.1' });
    return {
      server,
      listening,
      url: listening.url,
      key,
      engine,
      async close() {
        await listening.close();
        await engine.close();
      },
    };
  } catch (error) {
    await engine.close();
    throw error;
  }
}
