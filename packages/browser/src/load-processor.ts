// Registering `audioWorkletSink`'s processor on a context. The processor's
// source (worklet-processor.ts, a few kB of JavaScript text) is imported
// here on demand, so a page's bundle fetches it when playback starts, not
// before the page has loaded.

/** The name the processor registers under. */
export const PROCESSOR_NAME = 'voxpipe-ring-player';

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();

/**
 * Registers the processor on a context once (later calls share the first
 * load). By default from a Blob URL of PROCESSOR_SOURCE; pass `moduleUrl`
 * where a Content-Security-Policy forbids `blob:` scripts. Use it to have
 * the processor ready before the first audio arrives (`audioWorkletSink`
 * starts it as its run starts).
 *
 * ```ts
 * await loadProcessor(context); // then: new AudioWorkletNode(context, PROCESSOR_NAME, options)
 * ```
 */
export function loadProcessor(context: BaseAudioContext, moduleUrl?: string): Promise<void> {
  let done = loaded.get(context);
  if (!done) {
    done = (async () => {
      if (!context.audioWorklet) {
        throw new Error('AudioWorklet is not available here (it needs a secure context: https or localhost)');
      }
      if (moduleUrl) return context.audioWorklet.addModule(moduleUrl);
      const { PROCESSOR_SOURCE } = await import('./worklet-processor.js');
      const url = URL.createObjectURL(new Blob([PROCESSOR_SOURCE], { type: 'text/javascript' }));
      try {
        await context.audioWorklet.addModule(url);
      } finally {
        URL.revokeObjectURL(url);
      }
    })();
    loaded.set(context, done);
    done.catch(() => loaded.delete(context));
  }
  return done;
}
