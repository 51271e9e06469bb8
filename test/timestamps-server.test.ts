// ttsSource({ timestamps: true }) → reconnect → decode against the real server
// (POST /v1/tts/stream/with-timestamps, the espeak engine): the marks on the
// decoded PCM land where the engine put them — its mark on engine frame p is
// the 24 kHz sample ceil(p × 24000 / engine rate) (resample's rule), and in
// decoded MP3 the server's stated delay later, where the word's sound is —
// with the engine's text and offsets, and a stream dropped part-way
// (test/support/fault-proxy.ts) gives the same marks on the same samples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../packages/codecs/src/index.js';
import { collect, pipeline, reconnect, ttsSource, type Engine, type PcmChunk, type RunEvent } from '../packages/core/src/index.js';
import { landedMarks } from '../packages/core/src/testing/index.js';
import { createEspeakEngine } from '../packages/engine-espeak/src/index.js';
import { MP3_DELAY_SAMPLES } from '../packages/server/src/audio.js';
import { startTestServer, type TestServer } from '../packages/server/src/testing/index.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';

const TEXT = 'Marks travel with the samples. The café opens at nine, naïvely early!';

/** The engine, recording the chunks (and so the marks) of each synthesis it is asked for. */
function recording(engine: Engine): Engine & { calls: PcmChunk[][] } {
  const calls: PcmChunk[][] = [];
  return Object.assign(Object.create(engine) as Engine, {
    calls,
    synthesize(request: Parameters<Engine['synthesize']>[0]) {
      const chunks: PcmChunk[] = [];
      calls.push(chunks);
      return engine.synthesize(request).pipeThrough(
        new TransformStream<PcmChunk, PcmChunk>({
          transform(chunk, controller) {
            chunks.push(chunk);
            controller.enqueue(chunk);
          },
        }),
      );
    },
  });
}

let server: TestServer;
let proxy: FaultProxy;
let engine: ReturnType<typeof recording>;

beforeAll(async () => {
  engine = recording(await createEspeakEngine({ workers: 1 }));
  server = await startTestServer({ engine });
  proxy = await startFaultProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

async function speak(format: 'pcm' | 'mp3', events: RunEvent[] = []): Promise<PcmChunk> {
  const run = pipeline(
    ttsSource({ baseUrl: proxy.url, apiKey: server.key, text: TEXT, voice: 'Peter', language: 'en-US', model: 'aura-lite', format, timestamps: true }),
    reconnect({ retries: 3, backoff: { initialMs: 1 } }),
    decode(),
    collect(),
  );
  run.events.on('*' as never, (event: RunEvent) => events.push(event));
  return (await run.done).value!.pcm!;
}

describe('word marks from the real server', () => {
  for (const format of ['pcm', 'mp3'] as const) {
    it(`${format}: each word lands where the engine put it, and through a drop on the same sample`, async () => {
      const calls = engine.calls.length;
      const clean: RunEvent[] = [];
      const out = await speak(format, clean);
      expect(clean.filter((e) => e.type === 'warning')).toEqual([]);
      const made = engine.calls[calls];
      const engineRate = made[0].sampleRate;
      // The engine's mark on its frame p lands on 24 kHz sample ceil(p × 24000 / engine rate) (resample's rule), which MP3's encoder and decoder give MP3_DELAY_SAMPLES later.
      const delay = format === 'mp3' ? MP3_DELAY_SAMPLES : 0;
      const want = landedMarks(made).map((m) => ({ text: m.text, charStart: m.charStart, charEnd: m.charEnd, at: Math.floor((m.at * out.sampleRate + engineRate - 1) / engineRate) + delay }));
      expect(want.length).toBeGreaterThan(8);
      const got = landedMarks([out]);
      expect(got.map((m) => ({ text: m.text, charStart: m.charStart, charEnd: m.charEnd, at: m.at }))).toEqual(want);
      for (const mark of got) expect(TEXT.slice(mark.charStart, mark.charEnd)).toBe(mark.text);

      const events: RunEvent[] = [];
      proxy.plan({ dropAfter: format === 'pcm' ? 60_000 : 6_000 });
      const dropped = await speak(format, events);
      expect(events.filter((e) => e.type === 'reconnect')).toHaveLength(1);
      expect(landedMarks([dropped])).toEqual(got);
      expect(dropped.channels[0]).toEqual(out.channels[0]);
      expect(events.filter((e) => e.type === 'warning')).toEqual([]);
    });
  }
});
