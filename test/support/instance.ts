// One server instance in its own process, for tests of several servers sharing one Redis and of shutdown by signal:
// the tone engine, options from VOXPIPE_TEST_OPTIONS (JSON), a line `listening <url>` on stdout once it listens;
// SIGTERM drains (`close({ drainMs })`) and exits 0. Run with tsx.
import { createServer, type ServerOptions } from '../../packages/server/src/index.js';
import { toneEngine } from '../../packages/server/src/testing/tone-engine.js';

const options = JSON.parse(process.env.VOXPIPE_TEST_OPTIONS ?? '{}') as ServerOptions & { drainMs?: number; msPerChar?: number };
const { drainMs = 0, msPerChar, ...serverOptions } = options;
const server = createServer({ env: {}, ...serverOptions, engine: toneEngine({ msPerChar }) });
const listening = await server.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${listening.url}\n`);
process.once('SIGTERM', () => {
  void server.close({ drainMs }).then(() => process.exit(0));
});
