// What a phone gateway sends: 8 kHz µ-law in 20 ms frames (160 bytes each), made from the
// server's 24 kHz PCM with voxpipe's resampler. Writes telephony.ulaw and prints the frames.
// Run: npx tsx examples/telephony.ts [text]      (play it: sox -t ul -r 8000 -c 1 telephony.ulaw -d)
import { decode, mulawEncode } from '@voxpipe/codecs';
import { frames, pipeline, reconnect, resample, ttsSource } from '@voxpipe/core';
import { rawFile } from '@voxpipe/node';
import { createServer } from '@voxpipe/server';

const text = process.argv[2] ?? 'Thank you for calling. Your call is important to us.';
const server = createServer({ keys: ['example-key'], logger: false });
const { url, close } = await server.listen({ port: 0 });

const run = pipeline(
  ttsSource({ baseUrl: url, apiKey: 'example-key', text, model: 'aura-lite', format: 'pcm' }),
  reconnect(),
  decode(),
  resample({ rate: 8000 }),
  frames({ ms: 20, pad: true }),
  mulawEncode(),
  rawFile('telephony.ulaw'),
);
const { value, metrics } = await run.done;
console.log(`telephony.ulaw: ${value!.bytes / 160} frames of 20 ms (160 bytes µ-law each), first frame ready ${metrics.firstAudioMs?.toFixed(1)} ms after the start`);
await close();
await server.close();
