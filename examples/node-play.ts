// Plays speech through the first audio player on PATH (aplay, paplay, ffplay, sox's play, afplay),
// holding 150 ms before playback as the product document advises ("buffer 2–3 chunks").
// Run: npx tsx examples/node-play.ts [text]      (VOXPIPE_PLAYER=ffplay to choose one)
import { decode } from '@voxpipe/codecs';
import { meter, pipeline, prebuffer, reconnect, ttsSource, VoxpipeError } from '@voxpipe/core';
import { play } from '@voxpipe/node';
import { createServer } from '@voxpipe/server';

const text = process.argv[2] ?? 'Playing as it streams.';
const server = createServer({ keys: ['example-key'], logger: false });
const { url, close } = await server.listen({ port: 0 });
try {
  const run = pipeline(
    ttsSource({ baseUrl: url, apiKey: 'example-key', text, model: 'aura-lite' }),
    reconnect(),
    decode(),
    prebuffer({ ms: 150 }),
    meter(),
    play(),
  );
  process.on('SIGINT', () => run.abort('interrupted'));
  const { outcome, metrics } = await run.done;
  console.log(`${outcome}: playback started ${metrics.playbackStartMs?.toFixed(1)} ms after the start`);
} catch (error) {
  // No player or no sound card is a `device` error whose message says what to do.
  console.error(`node-play: ${error instanceof VoxpipeError ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await close();
  await server.close();
}
