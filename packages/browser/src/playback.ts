import { mixChannels, pcmChecker, VoxpipeError, WordTimeline, type Format, type PcmChunk, type PcmShape, type Resampler, type StageContext } from '@voxpipe/core';
import type { PlaybackControl, PlaybackStatus, PlayedPosition, StopOptions } from './player-control.js';
import { PlaybackOutput } from './playback-output.js';
import type { RingWriter } from './ring-writer.js';
import { resumeOnGesture } from './unlock.js';
import { loadProcessor } from './load-processor.js';
import { createWorkletNode, loadWorklet, type PlaybackSettings } from './worklet-node.js';
import type { ProcessorMessage } from './worklet-processor.js';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** One run of `audioWorkletSink`: the node, the ring, the resampler and the bookkeeping. */
export class Playback {
  node: AudioWorkletNode | undefined;
  underruns = 0;
  private writer: RingWriter | undefined;
  private resampler: Resampler | undefined;
  private readonly check: (chunk: PcmChunk) => PcmShape;
  private streamRate = 0;
  private outChannels = 0;
  private readonly rate: number;
  private played = 0;
  private buffered = 0;
  private state: PlaybackStatus['state'] = 'idle';
  private phase: 'open' | 'closing' | 'stopping' | 'done' = 'open';
  private controller: WritableStreamDefaultController | undefined;
  private readonly spaceWaiters = new Set<Waiter>();
  private readonly statusWaiters = new Map<number, (status: PlaybackStatus) => void>();
  private nextStatusId = 1;
  private readonly drained = deferred();
  private readonly stopped = deferred();
  private stopping: Promise<PlayedPosition> | undefined;
  /** The run's words along its audio (stream seconds = output seconds: the resampler adds no delay). */
  private readonly words = new WordTimeline();
  /** Stream frames taken so far. */
  private streamFrames = 0;
  private drainedAll = false;
  /** `word` events waiting for the output latency to pass. */
  private readonly wordTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly output: PlaybackOutput;
  private volume: number;
  /** The jitter buffer's target, in frames, as last reported. */
  private target = 0;
  /** Frames of pause the jitter buffer added and skipped, as last reported. */
  private held = 0;
  private trimmed = 0;
  private pauseWanted = false;
  private readonly pauseWaiters = new Set<() => void>();
  /** The resampler's module, fetched on demand: from the run's start (while the request is in flight) unless the format says the stream is at the context's rate. */
  private resampling: Promise<typeof import('@voxpipe/core/resampler')> | undefined;

  constructor(
    private readonly ctx: StageContext,
    private readonly context: BaseAudioContext,
    input: Format,
    private readonly o: PlaybackSettings,
  ) {
    this.rate = Math.round(context.sampleRate);
    // What playback needs is fetched and started as the run starts, while the request is in flight (a failure is tried again, and reported, at the first chunk).
    loadProcessor(context, o.moduleUrl).catch(() => {});
    if (input.sampleRate !== this.rate) this.loadResampler().catch(() => {});
    this.check = pcmChecker(ctx.stage, input);
    this.volume = o.volume;
    this.output = new PlaybackOutput(ctx.stage, context, o);
    const onState = () => {
      if (context.state !== 'closed') return this.interrupted();
      // An offline context closes when its rendering ends; Firefox delivers the worklet's last reports
      // after that: ask for its status (answered after every report before) before letting go.
      if (isOffline(context) && this.node) void Promise.race([this.sync(), new Promise((resolve) => setTimeout(resolve, 250))]).then(() => this.finish());
      else this.finish();
    };
    context.addEventListener('statechange', onState);
    ctx.onAbort((reason) => this.rejectWaiters(abortedError(reason, ctx.stage)));
    ctx.defer(() => {
      context.removeEventListener('statechange', onState);
      this.abort();
    });
  }

  /** This run's control, for `ctx.provide`. */
  control(): PlaybackControl {
    const node = () => this.node;
    return {
      get node() {
        return node();
      },
      status: () => this.status(),
      sync: () => this.sync(),
      stop: (options: StopOptions = {}) => this.stop(options.fadeMs ?? 30),
      pause: () => this.pause(),
      resume: () => this.resume(),
      setVolume: (value: number) => this.setVolume(value),
      setSinkId: (deviceId: string) => this.output.setSinkId(deviceId),
      audio: this.output.element,
    };
  }

  /** Fades out within 5 ms and plays silence, holding the position; resolves once the worklet has paused, with its status. */
  pause(): Promise<PlaybackStatus> {
    this.pauseWanted = true;
    if (!this.node || this.phase === 'done' || this.state === 'paused') return Promise.resolve(this.status());
    this.node.port.postMessage({ type: 'pause' });
    return new Promise((resolve) => this.pauseWaiters.add(() => resolve(this.status())));
  }

  /** Plays on from the frame after the last one heard, fading in. */
  resume(): void {
    this.pauseWanted = false;
    this.node?.port.postMessage({ type: 'resume' });
  }

  private setVolume(value: number): void {
    if (!Number.isFinite(value) || value < 0 || value > 4) {
      throw new VoxpipeError('bad-request', `${this.ctx.stage}: volume must be a number from 0 to 4, got ${String(value)}`, { stage: this.ctx.stage });
    }
    this.volume = value;
    this.node?.port.postMessage({ type: 'volume', volume: value });
  }

  /**
   * The context stopped under a playing run without being closed (iOS `interrupted` after a call or a
   * screen lock; `suspended` by the browser): say so, and resume it on the page's next user gesture.
   */
  private interrupted(): void {
    const state = this.context.state as string;
    if ((state !== 'suspended' && state !== 'interrupted') || !this.node || this.phase === 'done' || isOffline(this.context)) return;
    this.ctx.emit('warning', { code: 'audio-interrupted', message: `the AudioContext is ${state}; playback resumes on the next tap, click or key press` });
    resumeOnGesture(this.context as AudioContext);
  }

  start(controller: WritableStreamDefaultController): void {
    this.controller = controller;
  }

  status(): PlaybackStatus {
    const ms = (frames: number) => (frames * 1000) / this.rate;
    return { state: this.state, played: this.position(), bufferedMs: ms(this.buffered), targetMs: ms(this.target), underruns: this.underruns, volume: this.volume, heldMs: ms(this.held), trimmedMs: ms(this.trimmed) };
  }

  sync(): Promise<PlaybackStatus> {
    if (!this.node || this.phase === 'done') return Promise.resolve(this.status());
    const id = this.nextStatusId++;
    return new Promise((resolve) => {
      this.statusWaiters.set(id, resolve);
      this.node!.port.postMessage({ type: 'status', id });
    });
  }

  async write(chunk: PcmChunk): Promise<void> {
    if (this.phase !== 'open') throw this.stoppedError();
    const { frames } = this.check(chunk);
    if (!this.node) await this.setUp(chunk);
    if (frames === 0) return;
    this.watchWords(chunk, frames);
    let out = mixChannels(chunk.channels, this.outChannels);
    if (this.resampler) out = this.resampler.process(out);
    await this.push(out);
  }

  /** The stream has ended: plays out what is buffered (or, if stopped meanwhile, the fade). */
  async close(): Promise<void> {
    if (this.phase !== 'open') return;
    this.phase = 'closing';
    if (this.node) {
      try {
        if (this.resampler) await this.push(this.resampler.flush());
        this.node.port.postMessage({ type: 'end' });
      } catch (error) {
        if (this.phase === 'closing') throw error; // otherwise stopped meanwhile: the fade ends playback
      }
      await Promise.race([this.drained.promise, this.stopped.promise]);
    }
    this.finish();
  }

  /** The run ended without `stop()`: a short fade where the context renders, otherwise at once. */
  abort(): void {
    if (this.phase !== 'open' && this.phase !== 'closing') return;
    this.phase = 'stopping';
    this.rejectWaiters(abortedError(this.ctx.signal.reason, this.ctx.stage));
    if (this.fade(this.o.abortFadeMs)) void this.stopped.promise.then(() => this.finish());
    else this.finish();
  }

  /**
   * Fades out inside the worklet and resolves with the position heard. While
   * the stream is still arriving, it ends the run (`aborted`) at once, so the
   * request stops while the fade plays; once the whole stream has arrived
   * there is nothing left to stop, and the run completes with this position.
   */
  stop(fadeMs: number): Promise<PlayedPosition> {
    if (this.stopping) return this.stopping;
    if (this.phase === 'done') return Promise.resolve(this.position());
    if (this.phase === 'stopping') return (this.stopping = this.stopped.promise.then(() => this.position())); // the run was aborted: its fade is playing
    const arriving = this.phase === 'open';
    this.phase = 'stopping';
    const fading = this.fade(fadeMs);
    if (arriving) {
      this.ctx.end('aborted', 'Playback was stopped');
      // A context that ignores `end` (a stage run by hand): error the sink, which cancels upstream.
      if (!this.ctx.signal.aborted) this.controller?.error(this.stoppedError());
    }
    this.rejectWaiters(this.stoppedError());
    this.stopping = (fading ? this.stopped.promise : Promise.resolve()).then(() => {
      this.finish();
      return this.position();
    });
    return this.stopping;
  }

  /** Asks the worklet for a fade of `ms`; false when no fade can play (no node yet, or a context that does not render). */
  private fade(ms: number): boolean {
    if (!this.node || !this.fadeCanRun()) return false;
    this.node.port.postMessage({ type: 'stop', fadeFrames: Math.round((ms * this.rate) / 1000) });
    return true;
  }

  /** A fade needs a context that renders: running, or offline (rendering resumes). */
  private fadeCanRun(): boolean {
    if (this.context.state === 'closed') return false;
    return this.context.state === 'running' || isOffline(this.context);
  }

  private async setUp(chunk: PcmChunk): Promise<void> {
    const { stage } = this.ctx;
    this.streamRate = chunk.sampleRate;
    this.outChannels = this.o.channels ?? chunk.channels.length;
    if (!Number.isInteger(this.streamRate) || this.streamRate < 1000 || this.streamRate > 384000) {
      throw new VoxpipeError('format', `${stage}: cannot play PCM at ${this.streamRate} Hz`, { stage });
    }
    // The resampler is loaded only when the context's rate differs: a page whose context runs at the stream's rate never fetches it.
    const [, resampling] = await Promise.all([loadWorklet(stage, this.context, this.o.moduleUrl), this.streamRate !== this.rate ? this.loadResampler() : undefined]);
    if (this.phase !== 'open') throw this.stoppedError();
    if (resampling) this.resampler = resampling.createResampler(this.streamRate, this.rate, this.outChannels, this.o.quality);
    const settings = { ...this.o, volume: this.volume, destination: this.output.destination };
    const { node, writer } = createWorkletNode(stage, this.context, settings, this.outChannels, (m) => this.receive(m));
    this.node = node;
    this.writer = writer;
    this.state = 'prebuffer';
    if (this.pauseWanted) node.port.postMessage({ type: 'pause' });
  }

  private loadResampler(): Promise<typeof import('@voxpipe/core/resampler')> {
    this.resampling ??= import('@voxpipe/core/resampler');
    this.resampling.catch(() => {
      this.resampling = undefined;
    });
    return this.resampling;
  }

  private receive(m: ProcessorMessage): void {
    this.played = m.played;
    this.buffered = m.buffered;
    this.writer?.consumed(m.played);
    if (m.target !== undefined) this.target = m.target;
    if (m.held !== undefined) this.held = m.held;
    if (m.trimmed !== undefined) this.trimmed = m.trimmed;
    const bufferedMs = (m.buffered * 1000) / this.rate;
    switch (m.type) {
      case 'started':
        this.state = 'playing';
        this.ctx.mark('playback-start');
        break;
      case 'underrun':
        this.underruns++;
        this.ctx.count('underruns');
        this.ctx.emit('underrun', { bufferedMs });
        break;
      case 'buffering':
        this.state = 'prebuffer';
        this.ctx.emit('buffering', { bufferedMs, reason: 'underrun' });
        break;
      case 'playing':
        this.state = 'playing';
        this.ctx.emit('playing', { bufferedMs });
        break;
      case 'paused':
        this.state = 'paused';
        for (const resolve of this.pauseWaiters) resolve();
        this.pauseWaiters.clear();
        break;
      case 'stopping':
        this.state = 'fading';
        break;
      case 'reached':
        this.wordReached(m.frame, m.at);
        break;
      case 'drained':
        this.state = 'done';
        this.drainedAll = true; // every word was played to its end
        for (const word of this.words.started(Infinity)) this.ctx.emit('word', word); // the run ends now: no waiting for the latency
        this.drained.resolve();
        break;
      case 'stopped':
        this.state = 'done';
        this.stopped.resolve();
        break;
      case 'status':
        this.state = m.state as PlaybackStatus['state'];
        this.statusWaiters.get(m.id)?.(this.status());
        this.statusWaiters.delete(m.id);
        break;
      case 'warning':
        this.ctx.emit('warning', { code: m.code, message: m.message });
        break;
    }
    for (const waiter of [...this.spaceWaiters]) waiter.resolve();
    this.spaceWaiters.clear();
  }

  /** Places the chunk's word marks on the run's audio and asks the worklet to say when each start is read. */
  private watchWords(chunk: PcmChunk, frames: number): void {
    const at = this.streamFrames;
    this.streamFrames += frames;
    if (!chunk.marks || chunk.marks.length === 0) return;
    this.words.add(chunk.marks, at / this.streamRate, this.streamRate);
    for (const mark of chunk.marks) {
      this.node!.port.postMessage({ type: 'watch', frame: Math.round(((at + mark.frame) * this.rate) / this.streamRate) });
    }
  }

  /**
   * The worklet reads a word's first sample at context time `at`: it reaches
   * the speaker the context's output latency (baseLatency + outputLatency)
   * later, and its `word` event fires then.
   */
  private wordReached(frame: number, at: number): void {
    const context = this.context as Partial<AudioContext>;
    const latencyS = (context.baseLatency ?? 0) + (context.outputLatency ?? 0);
    const emit = () => {
      for (const word of this.words.started((frame + 0.5) / this.rate)) this.ctx.emit('word', word);
    };
    const delayMs = (at + latencyS - this.renderedTime(latencyS)) * 1000;
    if (delayMs < 1 || isOffline(this.context)) return emit();
    const timer = setTimeout(() => {
      this.wordTimers.delete(timer);
      if (this.phase !== 'done') emit();
    }, delayMs);
    this.wordTimers.add(timer);
  }

  /**
   * The context time rendered by now: `currentTime`, or, where the page has
   * not heard of the latest render quanta yet, what the output timestamp
   * (the time at the speaker, and when) says has been rendered since.
   */
  private renderedTime(latencyS: number): number {
    const stamp = (this.context as Partial<AudioContext>).getOutputTimestamp?.();
    const spoken = stamp?.contextTime !== undefined && stamp.performanceTime !== undefined && stamp.performanceTime > 0 ? stamp.contextTime + (performance.now() - stamp.performanceTime) / 1000 : 0;
    return Math.max(this.context.currentTime, spoken + latencyS);
  }

  private async push(channels: Float32Array[]): Promise<void> {
    const total = channels[0]?.length ?? 0;
    let offset = 0;
    while (offset < total) {
      if (this.phase === 'stopping' || this.phase === 'done') throw this.stoppedError();
      const free = this.writer!.free();
      if (free <= 0) {
        await this.waitForSpace();
        continue;
      }
      const n = Math.min(free, total - offset);
      this.writer!.write(channels, offset, n);
      offset += n;
      this.buffered += n;
    }
  }

  private waitForSpace(): Promise<void> {
    if (this.ctx.signal.aborted) return Promise.reject(abortedError(this.ctx.signal.reason, this.ctx.stage));
    return new Promise((resolve, reject) => this.spaceWaiters.add({ resolve, reject }));
  }

  private rejectWaiters(error: unknown): void {
    for (const waiter of [...this.spaceWaiters]) waiter.reject(error);
    this.spaceWaiters.clear();
  }

  private stoppedError(): VoxpipeError {
    return new VoxpipeError('aborted', 'Playback was stopped', { stage: this.ctx.stage });
  }

  private position(): PlayedPosition {
    const rate = this.streamRate || this.rate;
    const playedS = this.played / this.rate;
    const heard = this.drainedAll ? this.words.heardAll(playedS) : this.words.heard(playedS);
    return { ...heard, samples: Math.round((this.played * rate) / this.rate), ms: (this.played * 1000) / this.rate, sampleRate: rate };
  }

  /** Frees the node; playback is over. */
  private finish(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.rejectWaiters(new VoxpipeError('aborted', 'Playback ended', { stage: this.ctx.stage }));
    for (const timer of this.wordTimers) clearTimeout(timer);
    this.wordTimers.clear();
    for (const resolve of this.statusWaiters.values()) resolve(this.status());
    this.statusWaiters.clear();
    for (const resolve of this.pauseWaiters) resolve();
    this.pauseWaiters.clear();
    this.output.release();
    this.drained.resolve();
    this.stopped.resolve();
    const node = this.node;
    if (node) {
      node.port.postMessage({ type: 'dispose' });
      node.port.onmessage = null;
      node.disconnect();
      node.port.close();
    }
    this.state = 'done';
  }
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function isOffline(context: BaseAudioContext): boolean {
  const Offline = (globalThis as { OfflineAudioContext?: typeof OfflineAudioContext }).OfflineAudioContext;
  return Offline !== undefined && context instanceof Offline;
}

function abortedError(reason: unknown, stage: string): VoxpipeError {
  return reason instanceof VoxpipeError ? reason : new VoxpipeError('aborted', 'The run was aborted', { stage, cause: reason });
}
