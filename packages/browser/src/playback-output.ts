import { VoxpipeError } from '@voxpipe/core';

/**
 * Where one run of `audioWorkletSink` sends its audio: a given node or the
 * context's destination, or (`outputElement`) an `<audio>` element fed by a
 * MediaStreamAudioDestinationNode, so a page's echo canceller (getUserMedia
 * with `echoCancellation`) hears what is played; and which output device.
 *
 * ```ts
 * const output = new PlaybackOutput('audioWorkletSink', context, { outputElement: true });
 * node.connect(output.destination); await output.setSinkId(deviceId);
 * ```
 */
export class PlaybackOutput {
  readonly destination: AudioNode;
  /** The element played through, with `outputElement`. */
  readonly element: HTMLAudioElement | undefined;
  private readonly stream: MediaStreamAudioDestinationNode | undefined;

  constructor(
    private readonly stage: string,
    private readonly context: BaseAudioContext,
    o: { destination?: AudioNode; outputElement?: boolean | HTMLAudioElement },
  ) {
    const wanted = o.outputElement;
    if (!wanted || !('createMediaStreamDestination' in context)) {
      if (wanted) throw new VoxpipeError('bad-request', `${stage}: outputElement needs a real-time AudioContext (an OfflineAudioContext has no media stream)`, { stage });
      this.destination = o.destination ?? context.destination;
      return;
    }
    this.stream = (context as AudioContext).createMediaStreamDestination();
    this.element = wanted === true ? new Audio() : wanted;
    this.element.srcObject = this.stream.stream;
    void this.element.play().catch(() => {}); // a refusal shows as a suspended context: unlock() in a gesture
    this.destination = this.stream;
  }

  /**
   * Plays on the output device `deviceId` (from `navigator.mediaDevices.enumerateDevices()`; `''` is the default):
   * the element's `setSinkId` with `outputElement`, otherwise the AudioContext's (Chromium 110+). Where the
   * browser has neither, a `bad-request` VoxpipeError says so.
   */
  async setSinkId(deviceId: string): Promise<void> {
    const target = (this.element ?? this.context) as { setSinkId?: (id: string) => Promise<void> };
    if (typeof target.setSinkId !== 'function') {
      const where = this.element ? 'an audio element' : 'an AudioContext (use outputElement: true where the element has it, as in Firefox)';
      throw new VoxpipeError('bad-request', `${this.stage}: this browser cannot choose the output device of ${where}`, { stage: this.stage });
    }
    try {
      await target.setSinkId(deviceId);
    } catch (error) {
      throw new VoxpipeError('bad-request', `${this.stage}: could not play on output device "${deviceId}": ${error instanceof Error ? error.message : String(error)}`, { stage: this.stage, cause: error });
    }
  }

  /** Lets the element go (one this run made; a given element is paused and emptied). */
  release(): void {
    if (!this.element) return;
    this.element.pause();
    this.element.srcObject = null;
    this.stream?.disconnect();
  }
}
