// Streams speech from the embedded server into a WAV file, as it is made, and prints the telemetry.
// Run: npx tsx examples/node-to-wav.ts [text]
import { decode } from '@voxpipe/codecs';
import { meter, pipeline, reconnect, ttsSource } from '@voxpipe/core';
import { wavFile } from '@voxpipe/node';
import { createServer } from '@voxpipe/server';

const text = process.argv[2] ?? 'Streaming speech straight into a file, one piece at a time.';
const server = createServer({ keys: ['example-key'], logger: false });
const { url, close } = await server.listen({ port: 0 });

const run = pipeline(
  ttsSource({ baseUrl: url, apiKey: 'example-key', text, voice: 'Peter', language: 'en-US', model: 'aura-lite' }),
  reconnect({ retries: 3 }),
  decode(),
  meter(),
  wavFile('node-to-wav.wav'),
);
run.events.on('*', (e) => console.log(`${e.t.toFixed(1).padStart(7)} ms  ${e.type}`));
const { metrics } = await run.done;
console.log(`wrote node-to-wav.wav: ${(metrics.audioMs / 1000).toFixed(2)} s of audio, first audio after ${metrics.firstAudioMs?.toFixed(1)} ms`);
await close();
await server.close();
