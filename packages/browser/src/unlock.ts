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
 * before or while starting playback. Resolves with the running context; a
 * browser that still refuses gives a `bad-request` VoxpipeError that says to
 * call it from a click or tap.
 *
 * What it covers: a context `suspended` by an autoplay policy (Chromium,
 * Firefox, Safari); iOS Safari's `interrupted` state (a phone call, Siri, a
 * screen lock), resumed by the same call inside a gesture; and iOS's need for
 * a sound started within the gesture (it plays one silent sample). What it
 * does not: a `closed` context (an error: make a new one); iOS's ringer
 * switch, which mutes Web Audio whatever the state (set
 * `navigator.audioSession.type = 'playback'` where Safari has it); an
 * interruption that comes while playing, which needs a later gesture — the
 * worklet sink arms `resumeOnGesture` for that, and warns `audio-interrupted`.
 *
 * `waitMs` is how long to wait for the browser to agree: by default 1 s, or
 * 10 s where the page has a live user gesture or the browser says autoplay is
 * allowed (Firefox takes about 2 s to open its sound output).
 *
 * ```ts
 * button.onclick = async () => { await unlock(); pipeline(ttsSource(opts), decode(), audioWorkletSink()); };
 * ```
 */
export async function unlock(context: AudioContext = defaultAudioContext(), waitMs = mayPlay(context) ? 10_000 : 1000): Promise<AudioContext> {
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

const GESTURES = ['pointerdown', 'keydown', 'touchend'] as const;
const watching = new WeakSet<AudioContext>();

/**
 * Resumes a context that the page did not pause itself — iOS Safari leaves it
 * `interrupted` after a phone call, Siri or a screen lock; other browsers
 * `suspended` — on the page's next tap, click or key press (audio may only
 * restart inside a user gesture). `audioWorkletSink` arms it when its context
 * stops under a playing run; call it yourself for contexts you manage.
 *
 * ```ts
 * context.onstatechange = () => context.state !== 'running' && resumeOnGesture(context);
 * ```
 */
export function resumeOnGesture(context: AudioContext, target: EventTarget | undefined = (globalThis as { document?: EventTarget }).document): void {
  if (!target || watching.has(context)) return;
  watching.add(context);
  const done = () => {
    watching.delete(context);
    for (const type of GESTURES) target.removeEventListener(type, onGesture, true);
    context.removeEventListener('statechange', onState);
  };
  const onGesture = () => {
    if ((context.state as string) === 'running' || context.state === 'closed') return done();
    void unlock(context).then(done, () => {}); // still refused: try again on the next gesture
  };
  const onState = () => {
    if ((context.state as string) === 'running' || context.state === 'closed') done();
  };
  for (const type of GESTURES) target.addEventListener(type, onGesture, true);
  context.addEventListener('statechange', onState);
}

/** Whether the browser will let this context start: a user gesture is live, or its autoplay policy allows it. */
function mayPlay(context: AudioContext): boolean {
  const nav = (globalThis as { navigator?: { userActivation?: { isActive?: boolean }; getAutoplayPolicy?: (x: unknown) => string } }).navigator;
  if (nav?.userActivation?.isActive) return true;
  try {
    return nav?.getAutoplayPolicy?.(context) === 'allowed';
  } catch {
    return false;
  }
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
