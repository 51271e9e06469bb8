import { ReadableStream, type Engine, type PcmChunk } from '@voxpipe/core';

/**
 * The same engine, telling `onMade(audioSeconds, wallSeconds)` each time one
 * of its streams has been made whole (for the real-time-factor metric).
 * Everything else — name, build, voices, stats, close — is the engine's
 * own, and its streams are pulled as they were (nothing buffered between).
 *
 * ```ts
 * const engine = meteredEngine(espeak, (audio, wall) => metrics.synthesis(audio, wall));
 * ```
 */
export function meteredEngine<E extends Engine>(engine: E, onMade: (audioSeconds: number, wallSeconds: number) => void): E {
  const synthesize: Engine['synthesize'] = (request) => {
    const started = performance.now();
    const reader = engine.synthesize(request).getReader();
    let seconds = 0;
    return new ReadableStream<PcmChunk>(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) {
            onMade(seconds, (performance.now() - started) / 1000);
            return controller.close();
          }
          seconds += (value.channels[0]?.length ?? 0) / value.sampleRate;
          controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  };
  return new Proxy(engine, {
    get(target, property) {
      if (property === 'synthesize') return synthesize;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
