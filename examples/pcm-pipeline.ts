// A pipeline from core stages alone: a tone, prebuffered like a network stream
// would be, shaped, metered and collected; then its telemetry.
// Run: npx tsx examples/pcm-pipeline.ts
import { collect, fade, gain, meter, pipeline, prebuffer, tone } from '@voxpipe/core';

const run = pipeline(
  tone({ frequency: 440, ms: 1000, chunkMs: 20 }),
  prebuffer({ chunks: 3 }),
  gain({ db: -6 }),
  fade({ inMs: 10, outMs: 50 }),
  meter({ thresholdDb: -50 }),
  collect(),
);
run.events.on('*', (e) => console.log(`${e.t.toFixed(2).padStart(8)} ms  ${e.type}${e.stage ? ` (${e.stage})` : ''}`));
const { value, metrics } = await run.done;
console.log(`collected ${value!.pcm!.channels[0].length} samples at ${value!.pcm!.sampleRate} Hz`);
console.log(metrics);
