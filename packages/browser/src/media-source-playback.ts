import { readMpegHeader } from '@voxpipe/codecs';
import { NOTHING_HEARD, VoxpipeError, type StageContext } from '@voxpipe/core';
import type { PlayedPosition } from './player-control.js';

const STAGE = 'mediaSourceSink';
const MIME = 'audio/mpeg';

type MediaSourceClass = typeof MediaSource;

/** The MediaSource class to use: ManagedMediaSource (iOS Safari 17.1+) first, then MediaSource. */
function mediaSourceClass(): MediaSourceClass | undefined {
  const g = globalThis as { ManagedMediaSource?: MediaSourceClass; MediaSource?: MediaSourceClass };
  return g.ManagedMediaSource ?? g.MediaSource;
}

/**
 * True where Media Source Extensions (or ManagedMediaSource) can play
 * `audio/mpeg` bytes as they arrive, so `mediaSourceSink` works; where false,
 * decode with `decode()` and play with `audioWorkletSink()` (what
 * `browserPlayer()` does).
 *
 * ```ts
 * const sink = canUseMediaSource() ? mediaSourceSink() : audioWorkletSink();
 * ```
 */
export function canUseMediaSource(): boolean {
  const Class = mediaSourceClass();
  try {
    return !!Class && typeof Class.isTypeSupported === 'function' && Class.isTypeSupported(MIME);
  } catch {
    return false;
  }
}

/** One run of `mediaSourceSink`: the MediaSource, its SourceBuffer, the element and the bookkeeping. */
export class MsePlayback {
  underruns = 0;
  private source: MediaSource | undefined;
  private buffer: SourceBuffer | undefined;
  private url: string | undefined;
  private controller: WritableStreamDefaultController | undefined;
  private sampleRate = 0;
  private head = new Uint8Array(0);
  private started = false;
  private playStarted = false;
  private released = false;
  private closing = false;
  private stopping: Promise<PlayedPosition> | undefined;
  private endedAt: number | undefined;
  private readonly off: Array<() => void> = [];
  /** Rejecters of the waits in progress, called by release() and when the run is aborted. */
  private readonly pending = new Set<() => void>();

  constructor(
    private readonly ctx: StageContext,
    private readonly audio: HTMLAudioElement,
    private readonly maxAheadSeconds: number,
  ) {
    ctx.onAbort(() => {
      for (const reject of [...this.pending]) reject();
    });
    ctx.defer(() => this.abort());
  }

  /** The run ended: frees everything at once, unless `stop()` is fading out (it frees everything when done). */
  abort(): void {
    if (!this.stopping) this.release();
  }

  async start(controller: WritableStreamDefaultController): Promise<void> {
    this.controller = controller;
    const declared = this.ctx.declared;
    if (declared?.container && declared.container !== 'mp3') {
      throw new VoxpipeError('format', `${STAGE} plays audio/mpeg, but the stream is ${declared.container}; use decode() + audioWorkletSink()`, { stage: STAGE });
    }
    const Class = mediaSourceClass();
    if (!Class || !canUseMediaSource()) throw new VoxpipeError('format', `${STAGE}: this browser cannot play audio/mpeg through Media Source Extensions`, { stage: STAGE });
    const source = new Class();
    this.source = source;
    if (Class !== (globalThis as { MediaSource?: unknown }).MediaSource) (this.audio as HTMLAudioElement & { disableRemotePlayback: boolean }).disableRemotePlayback = true;
    this.url = URL.createObjectURL(source);
    this.audio.src = this.url;
    this.listen(this.audio, 'playing', () => {
      if (!this.started) {
        this.started = true;
        this.ctx.mark('playback-start');
      }
    });
    this.listen(this.audio, 'waiting', () => {
      if (!this.started || this.source?.readyState === 'ended') return;
      this.underruns++;
      this.ctx.count('underruns');
      this.ctx.emit('underrun', { bufferedMs: this.aheadSeconds() * 1000 });
    });
    await this.until(source, 'sourceopen');
    const buffer = source.addSourceBuffer(MIME);
    buffer.mode = 'sequence';
    this.buffer = buffer;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.released) throw new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE });
    if (!this.sampleRate) this.learnRate(bytes);
    while (this.aheadSeconds() > this.maxAheadSeconds) await this.until(this.audio, 'timeupdate');
    await this.append(bytes);
    if (!this.playStarted) this.startPlaying();
  }

  /** Starts the element without waiting: play() may only settle once later writes bring more data. */
  private startPlaying(): void {
    this.play().catch((error: unknown) => {
      if (!this.released) this.controller?.error(error);
    });
  }

  async close(): Promise<void> {
    if (this.released) return;
    this.closing = true;
    try {
      if (!this.playStarted && this.buffer && this.buffer.buffered.length > 0) this.startPlaying();
      if (this.buffer?.updating) await this.until(this.buffer, 'updateend');
      if (this.source?.readyState === 'open') this.source.endOfStream();
      if (this.playStarted && !this.audio.ended) await this.until(this.audio, 'ended');
    } catch (error) {
      if (!this.stopping) throw error;
      await this.stopping; // stopped once the whole stream had arrived: the run completes at the position heard
    }
    this.endedAt ??= this.audio.currentTime;
    this.release();
  }

  /** See {@link PlayerControl.stop}: ends the run while the stream is arriving, then fades the element's volume out. */
  stop(fadeMs: number): Promise<PlayedPosition> {
    this.stopping ??= (async () => {
      if (!this.closing && !this.released) {
        this.ctx.end('aborted', 'Playback was stopped');
        if (!this.ctx.signal.aborted) this.controller?.error(new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE }));
      }
      const from = this.audio.volume;
      const steps = Math.max(1, Math.round(fadeMs / 10));
      for (let i = 1; i <= steps && !this.audio.paused; i++) {
        await new Promise((resolve) => setTimeout(resolve, fadeMs / steps));
        this.audio.volume = from * 0.5 * (1 + Math.cos((Math.PI * i) / steps));
      }
      const position = this.position();
      this.release();
      this.audio.volume = from;
      return position;
    })();
    return this.stopping;
  }

  position(): PlayedPosition {
    const seconds = this.endedAt ?? (this.released ? 0 : this.audio.currentTime);
    const rate = this.sampleRate || 24000;
    return { ...NOTHING_HEARD, samples: Math.round(seconds * rate), ms: seconds * 1000, sampleRate: rate }; // MP3 carries no word marks
  }

  /** Stops the element and frees the MediaSource. */
  release(): void {
    if (this.released) return;
    this.endedAt ??= this.audio.currentTime;
    this.released = true;
    for (const off of this.off.splice(0)) off();
    for (const reject of [...this.pending]) reject();
    this.audio.pause();
    this.audio.removeAttribute('src');
    this.audio.load();
    if (this.url) URL.revokeObjectURL(this.url);
  }

  private async play(): Promise<void> {
    this.playStarted = true;
    try {
      await this.audio.play();
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'NotAllowedError') {
        throw new VoxpipeError('bad-request', `${STAGE}: the browser blocked playback without a user gesture (NotAllowedError); start playback from a click or tap handler`, { stage: STAGE, cause: error });
      }
      if (this.released) throw new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE });
      throw new VoxpipeError('decode', `${STAGE}: the element could not play: ${error instanceof Error ? error.message : String(error)}`, { stage: STAGE, cause: error });
    }
  }

  private async append(bytes: Uint8Array): Promise<void> {
    const buffer = this.buffer!;
    for (;;) {
      if (buffer.updating) await this.until(buffer, 'updateend');
      try {
        buffer.appendBuffer(bytes as Uint8Array<ArrayBuffer>);
      } catch (error) {
        if ((error as { name?: unknown }).name !== 'QuotaExceededError') throw new VoxpipeError('decode', `${STAGE}: ${error instanceof Error ? error.message : String(error)}`, { stage: STAGE, cause: error });
        // Full: drop what has been played, wait for playback to move on, try again.
        const played = this.audio.currentTime - 1;
        if (played > 0 && buffer.buffered.length > 0 && buffer.buffered.start(0) < played) {
          buffer.remove(0, played);
          await this.until(buffer, 'updateend');
        } else {
          await this.until(this.audio, 'timeupdate');
        }
        continue;
      }
      await this.until(buffer, 'updateend');
      return;
    }
  }

  private aheadSeconds(): number {
    const ranges = this.buffer?.buffered;
    if (!ranges || ranges.length === 0) return 0;
    return Math.max(0, ranges.end(ranges.length - 1) - this.audio.currentTime);
  }

  private learnRate(bytes: Uint8Array): void {
    const joined = new Uint8Array(this.head.length + bytes.length);
    joined.set(this.head);
    joined.set(bytes, this.head.length);
    for (let i = 0; i + 4 <= joined.length && i < 65536; i++) {
      const header = readMpegHeader(joined, i);
      if (header && header.layer === 3) {
        this.sampleRate = header.sampleRate;
        return;
      }
    }
    this.head = joined.length < 65536 ? joined : new Uint8Array(0);
  }

  private listen(target: EventTarget, type: string, listener: () => void): void {
    target.addEventListener(type, listener);
    this.off.push(() => target.removeEventListener(type, listener));
  }

  /** Resolves on `type`; rejects on the target's error, when the run is aborted or playback released. */
  private until(target: EventTarget, type: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => () => {
        target.removeEventListener(type, ok);
        target.removeEventListener('error', bad);
        this.pending.delete(aborted);
        fn();
      };
      const ok = done(resolve);
      const bad = done(() => reject(new VoxpipeError('decode', `${STAGE}: the browser could not play the stream (${describeMediaError(this.audio)})`, { stage: STAGE })));
      const aborted = done(() => reject(new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE, cause: this.ctx.signal.reason })));
      if (this.ctx.signal.aborted || this.released) return aborted();
      target.addEventListener(type, ok, { once: true });
      target.addEventListener('error', bad, { once: true });
      this.pending.add(aborted);
    });
  }
}

function describeMediaError(audio: HTMLAudioElement): string {
  const error = audio.error;
  return error ? `MediaError ${error.code}${error.message ? `: ${error.message}` : ''}` : 'no detail';
}
