import { VoxpipeError } from '@voxpipe/core';

let shared: AudioContext | undefined;

/**
 * The page's shared AudioContext, made on first use; `audioWorkletSink()`
 * and `unlock()` use it when given no context of their own.
 */
export function defaultAudioContext(): AudioContext {
  if (!shared || shared.state === 'closed') {
    const Context = (globalThis as { AudioContext?: typeof AudioContext; webkitAudioContext?: typeof AudioContext }).AudioContext ??
      (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Context) throw new VoxpipeError('format', 'Web Audio is not available here: no AudioContext', { stage: 'unlock' });
    shared = new Context({ latencyHint: 'interactive' });
  }
  return shared;
}

/**
 * Lets audio play: call it inside a user gesture (a click or tap handler),
 * before or while starting playback. Resumes a `suspended` context (autoplay
 * policy) and an iOS `interrupted` one (after a call or Siri). Resolves with
 * the running context; a browser that still refuses gives a `bad-request`
 * VoxpipeError that says to call it from a click or tap.
 *
 * `waitMs` (default 1000) is how long to wait for the browser to agree.
 *
 * ```ts
 * button.onclick = async () => { await unlock(); pipeline(ttsSource(opts), decode(), audioWorkletSink()); };
 * ```
 */
export async function unlock(context: AudioContext = defaultAudioContext(), waitMs = 1000): Promise<AudioContext> {
  const state = context.state as AudioContextState | 'interrupted';
  if (state === 'closed') {
    throw new VoxpipeError('bad-request', 'unlock: the AudioContext is closed; make a new one', { stage: 'unlock' });
  }
  if (state === 'running') return context;
  try {
    // iOS Safari needs a sound started inside the gesture; one silent sample is enough.
    const buffer = context.createBuffer(1, 1, context.sampleRate);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    source.start(0);
    source.onended = () => source.disconnect();
  } catch {
    // not needed where resume() alone works
  }
  // Chromium leaves resume() pending (not rejected) outside a gesture: wait a moment, then say why.
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([context.resume(), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  } catch (error) {
    throw unlockError(error);
  } finally {
    clearTimeout(timer);
  }
  if ((context.state as string) !== 'running') {
    throw new VoxpipeError(
      'bad-request',
      `unlock: the browser kept audio ${context.state as string}; call unlock() inside a click or tap handler (a user gesture)`,
      { stage: 'unlock' },
    );
  }
  return context;
}

function unlockError(error: unknown): VoxpipeError {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'NotAllowedError') {
    return new VoxpipeError(
      'bad-request',
      'unlock: the browser does not allow audio to start without a user gesture (NotAllowedError); call unlock() inside a click or tap handler',
      { stage: 'unlock', cause: error },
    );
  }
  return new VoxpipeError('internal', `unlock: could not resume audio: ${error instanceof Error ? error.message : String(error)}`, { stage: 'unlock', cause: error });
}
