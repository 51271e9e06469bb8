import { anyPcm, createResampler, parseOptions, VoxpipeError, type PcmChunk, type Resampler, type SinkStage, type StageContext } from '@voxpipe/core';
import * as v from 'valibot';
import { canShareRing, messageRing, sharedRing, type RingWriter } from './ring-writer.js';
import { defaultAudioContext } from './unlock.js';
import { loadProcessor, PROCESSOR_NAME, type ProcessorMessage, type ProcessorOptions } from './worklet-processor.js';

const STAGE = 'audioWorkletSink';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const schema = v.strictObject({
  /** The context to play in (an AudioContext, or an OfflineAudioContext to render). Default: the page's shared one (`defaultAudioContext()`). */
  context: v.optional(v.custom<BaseAudioContext>((x) => isObject(x) && typeof x.createGain === 'function', 'context must be an AudioContext or OfflineAudioContext')),
  /** Audio to gather before the first sample plays, in ms. */
  prebufferMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000)), 100),
  /** After an underrun, wait for this much audio again before playing on (`true`: prebufferMs). Default: play on at once. */
  rebuffer: v.optional(v.union([v.boolean(), v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000))]), false),
  /** Output channels (mono is copied to each; more are averaged to mono). Default: the stream's. */
  channels: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32))),
  /** Ring size in ms of audio: how far playback may lag the stream before writes wait. */
  bufferMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(50), v.maxValue(120_000)), 2000),
  /** Resampler quality when the context's rate differs from the stream's. */
  quality: v.optional(v.picklist(['high', 'medium', 'fast']), 'high'),
  /** `shared`: SharedArrayBuffer ring (needs crossOriginIsolated); `message`: posted chunks; `auto` (default): shared when possible. */
  transport: v.optional(v.picklist(['auto', 'shared', 'message']), 'auto'),
  /** Where the worklet's output goes. Default: the context's destination. */
  destination: v.optional(v.custom<AudioNode>((x) => isObject(x) && typeof x.connect === 'function', 'destination must be an AudioNode')),
  /** The run's AbortController: `stop()` aborts it, so `done` resolves with outcome `aborted`. */
  controller: v.optional(v.custom<AbortController>((x) => isObject(x) && typeof x.abort === 'function', 'controller must be an AbortController')),
  /** Fade used when the run is aborted without `stop()`, in ms. */
  abortFadeMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(5000)), 10),
  /** Where to load the processor from when a Content-Security-Policy forbids blob: scripts. */
  moduleUrl: v.optional(v.string()),
});

export type AudioWorkletSinkOptions = v.InferInput<typeof schema>;
type Parsed = v.InferOutput<typeof schema>;

/** How much of the stream was heard: `samples` at the stream's own rate, `ms` of audio. */
export interface PlayedPosition {
  samples: number;
  ms: number;
  /** The stream's sample rate (the one `samples` counts in). */
  sampleRate: number;
}

/** What a finished playback run gives. */
export interface PlaybackResult {
  played: PlayedPosition;
  underruns: number;
}

/** The latest report from the worklet. */
export interface PlaybackStatus {
  state: 'idle' | 'prebuffer' | 'playing' | 'fading' | 'done';
  played: PlayedPosition;
  /** Audio in the ring, in ms. */
  bufferedMs: number;
  underruns: number;
}

export interface StopOptions {
  /** Fade-out length in ms (default 30); 0 stops at once. */
  fadeMs?: number;
}

/** The worklet sink: a SinkStage, plus live status and `stop()` for the run playing now. */
export interface AudioWorkletSinkStage extends SinkStage<PcmChunk, PlaybackResult> {
  /** The context it plays in. */
  readonly context: BaseAudioContext;
  /** The current run's AudioWorkletNode (after the first chunk), e.g. to tap with an AnalyserNode. */
  readonly node: AudioWorkletNode | undefined;
  /** The latest position and fill, as last reported by the worklet. */
  status(): PlaybackStatus;
  /** Asks the worklet for its position now (it has then seen every chunk written before). */
  sync(): Promise<PlaybackStatus>;
  /**
   * Fades out inside the worklet, drops what is buffered, aborts the run's
   * request, and resolves with the position heard (to cut a transcript there).
   */
  stop(options?: StopOptions): Promise<PlayedPosition>;
}

/**
 * Plays PCM through an AudioWorklet ring buffer: gapless and sample-accurate
 * across chunks, prebuffered, converted with voxpipe's band-limited
 * resampler when the context runs at another rate. Use it as the last stage
 * of a browser pipeline; call `unlock()` in a click handler first.
 *
 * ```ts
 * const player = audioWorkletSink({ prebufferMs: 150 });
 * pipeline(ttsSource(opts), decode(), player); // later: await player.stop({ fadeMs: 50 })
 * ```
 */
export function audioWorkletSink(options: AudioWorkletSinkOptions = {}): AudioWorkletSinkStage {
  const o = parseOptions(STAGE, schema, options);
  let context = o.context;
  const getContext = () => (context ??= defaultAudioContext());
  let current: Playback | undefined;
  let last: PlaybackStatus = idleStatus(24000);
  const { prebufferMs, rebuffer, channels, bufferMs, quality, transport, abortFadeMs } = o;
  return {
    role: 'sink',
    name: STAGE,
    takes: anyPcm,
    spec: { stage: STAGE, options: { prebufferMs, rebuffer, bufferMs, quality, transport, abortFadeMs, ...(channels ? { channels } : {}) } },
    get context() {
      return getContext();
    },
    get node() {
      return current?.node;
    },
    open(ctx) {
      const playback = new Playback(ctx, getContext(), o, (status) => (last = status));
      current = playback;
      return {
        sink: {
          start: (controller) => playback.start(controller),
          write: (chunk) => playback.write(chunk),
          close: () => playback.close(),
          abort: () => playback.abort(),
        },
        result: () => ({ played: playback.status().played, underruns: playback.underruns }),
      };
    },
    status: () => current?.status() ?? last,
    sync: () => current?.sync() ?? Promise.resolve(last),
    stop: (stopOptions = {}) => current?.stop(stopOptions.fadeMs ?? 30) ?? Promise.resolve(last.played),
  };
}

function idleStatus(sampleRate: number): PlaybackStatus {
  return { state: 'idle', played: { samples: 0, ms: 0, sampleRate }, bufferedMs: 0, underruns: 0 };
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** One run's playback: the node, the ring, the resampler and the bookkeeping. */
class Playback {
  node: AudioWorkletNode | undefined;
  underruns = 0;
  private writer: RingWriter | undefined;
  private resampler: Resampler | undefined;
  private streamRate = 0;
  private streamChannels = 0;
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
  private drained: { promise: Promise<void>; resolve(): void } = deferred();
  private stopped: { promise: Promise<PlayedPosition>; resolve(p: PlayedPosition): void } = deferred();
  private stopping: Promise<PlayedPosition> | undefined;
  private finished = false;

  constructor(
    private readonly ctx: StageContext,
    private readonly context: BaseAudioContext,
    private readonly o: Parsed,
    private readonly report: (status: PlaybackStatus) => void,
  ) {
    this.rate = Math.round(context.sampleRate);
    const onAbort = () => this.rejectWaiters(abortedError(ctx.signal.reason));
    const onState = () => {
      if (context.state === 'closed') this.finish();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    context.addEventListener('statechange', onState);
    ctx.defer(() => {
      ctx.signal.removeEventListener('abort', onAbort);
      context.removeEventListener('statechange', onState);
      if (this.phase === 'open' || this.phase === 'closing') this.quietStop();
    });
  }

  start(controller: WritableStreamDefaultController): void {
    this.controller = controller;
  }

  status(): PlaybackStatus {
    return {
      state: this.state,
      played: this.position(),
      bufferedMs: (this.buffered * 1000) / this.rate,
      underruns: this.underruns,
    };
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
    if (this.phase !== 'open') throw new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE });
    const frames = checkChunk(chunk);
    if (!this.node) await this.setUp(chunk);
    else if (chunk.sampleRate !== this.streamRate || chunk.channels.length !== this.streamChannels) {
      throw new VoxpipeError('format', `${STAGE}: the stream changed from ${this.streamRate} Hz × ${this.streamChannels} to ${chunk.sampleRate} Hz × ${chunk.channels.length} mid-stream`, { stage: STAGE });
    }
    if (frames === 0) return;
    let out = adaptChannels(chunk.channels, this.outChannels);
    if (this.resampler) out = this.resampler.process(out);
    await this.push(out);
  }

  async close(): Promise<void> {
    if (this.phase !== 'open') return;
    this.phase = 'closing';
    if (!this.node) {
      this.finish();
      return;
    }
    if (this.resampler) await this.push(this.resampler.flush());
    this.node.port.postMessage({ type: 'end' });
    await Promise.race([this.drained.promise, this.stopped.promise]);
    this.finish();
  }

  abort(): void {
    if (this.phase === 'open' || this.phase === 'closing') this.quietStop();
  }

  stop(fadeMs: number): Promise<PlayedPosition> {
    if (this.stopping) return this.stopping;
    if (this.phase === 'done') return Promise.resolve(this.position());
    this.stopping = this.runStop(fadeMs);
    return this.stopping;
  }

  private async runStop(fadeMs: number): Promise<PlayedPosition> {
    this.phase = 'stopping';
    const error = new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE });
    this.rejectWaiters(error);
    if (this.node && this.fadeCanRun()) {
      this.node.port.postMessage({ type: 'stop', fadeFrames: Math.round((fadeMs * this.rate) / 1000) });
    }
    // The request ends now, while the fade plays out of what is already buffered.
    if (this.o.controller) this.o.controller.abort(error);
    else this.controller?.error(error);
    if (this.node && this.fadeCanRun()) await this.stopped.promise;
    this.finish();
    return this.position();
  }

  /** Ends playback after an abort: a short fade where the context is running, otherwise at once. */
  private quietStop(): void {
    this.phase = 'stopping';
    this.rejectWaiters(abortedError(this.ctx.signal.reason));
    if (this.node && this.fadeCanRun()) {
      this.node.port.postMessage({ type: 'stop', fadeFrames: Math.round((this.o.abortFadeMs * this.rate) / 1000) });
      void this.stopped.promise.then(() => this.finish());
    } else {
      this.finish();
    }
  }

  /** A fade needs a context that renders: running, or offline (rendering resumes). */
  private fadeCanRun(): boolean {
    if (this.context.state === 'closed') return false;
    return this.context.state === 'running' || isOffline(this.context);
  }

  private async setUp(chunk: PcmChunk): Promise<void> {
    this.streamRate = chunk.sampleRate;
    this.streamChannels = chunk.channels.length;
    this.outChannels = this.o.channels ?? chunk.channels.length;
    if (!Number.isInteger(this.streamRate) || this.streamRate < 1000 || this.streamRate > 384000) {
      throw new VoxpipeError('format', `${STAGE}: cannot play PCM at ${this.streamRate} Hz`, { stage: STAGE });
    }
    try {
      await loadProcessor(this.context, this.o.moduleUrl);
    } catch (error) {
      throw new VoxpipeError('format', `${STAGE}: could not load the AudioWorklet processor: ${error instanceof Error ? error.message : String(error)}`, { stage: STAGE, cause: error });
    }
    if (this.phase !== 'open') throw new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE });
    if (this.streamRate !== this.rate) this.resampler = createResampler(this.streamRate, this.rate, this.outChannels, this.o.quality);
    const frames = (ms: number) => Math.round((ms * this.rate) / 1000);
    const prebufferFrames = frames(this.o.prebufferMs);
    const rebufferFrames = this.o.rebuffer === false ? 0 : frames(this.o.rebuffer === true ? this.o.prebufferMs : this.o.rebuffer);
    const capacity = Math.max(frames(this.o.bufferMs), prebufferFrames + 1024, rebufferFrames + 1024) + 1;
    const shared = this.o.transport === 'shared' || (this.o.transport === 'auto' && canShareRing());
    if (shared && !canShareRing()) {
      throw new VoxpipeError('bad-request', `${STAGE}: transport "shared" needs a crossOriginIsolated page (COOP/COEP headers)`, { stage: STAGE });
    }
    const ring = shared ? sharedRing(this.outChannels, capacity) : undefined;
    const processorOptions: ProcessorOptions = {
      channels: this.outChannels,
      capacity,
      prebufferFrames,
      rebufferFrames,
      reportFrames: frames(20),
      shared: ring?.buffers,
    };
    const node = new AudioWorkletNode(this.context, PROCESSOR_NAME, {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [this.outChannels],
      processorOptions,
    });
    node.port.onmessage = (event: MessageEvent<ProcessorMessage>) => this.receive(event.data);
    node.connect(this.o.destination ?? this.context.destination);
    this.writer = ring ? ring.writer : messageRing(node.port, this.outChannels, capacity);
    this.node = node;
    this.state = 'prebuffer';
  }

  private receive(m: ProcessorMessage): void {
    this.played = m.played;
    this.buffered = m.buffered;
    this.writer?.consumed(m.played);
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
      case 'stopping':
        this.state = 'fading';
        break;
      case 'drained':
        this.state = 'done';
        this.drained.resolve();
        break;
      case 'stopped':
        this.state = 'done';
        this.stopped.resolve(this.position());
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
    this.report(this.status());
    for (const waiter of [...this.spaceWaiters]) waiter.resolve();
    this.spaceWaiters.clear();
  }

  private async push(channels: Float32Array[]): Promise<void> {
    const total = channels[0]?.length ?? 0;
    let offset = 0;
    while (offset < total) {
      if (this.phase === 'stopping' || this.phase === 'done') throw new VoxpipeError('aborted', 'Playback was stopped', { stage: STAGE });
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
    if (this.ctx.signal.aborted) return Promise.reject(abortedError(this.ctx.signal.reason));
    return new Promise((resolve, reject) => this.spaceWaiters.add({ resolve, reject }));
  }

  private rejectWaiters(error: unknown): void {
    for (const waiter of [...this.spaceWaiters]) waiter.reject(error);
    this.spaceWaiters.clear();
  }

  private position(): PlayedPosition {
    const rate = this.streamRate || this.rate;
    return { samples: Math.round((this.played * rate) / this.rate), ms: (this.played * 1000) / this.rate, sampleRate: rate };
  }

  /** Frees the node; playback is over. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.phase = 'done';
    this.rejectWaiters(new VoxpipeError('aborted', 'Playback ended', { stage: STAGE }));
    for (const resolve of this.statusWaiters.values()) resolve(this.status());
    this.statusWaiters.clear();
    this.drained.resolve();
    this.stopped.resolve(this.position());
    const node = this.node;
    if (node) {
      node.port.postMessage({ type: 'dispose' });
      node.port.onmessage = null;
      node.disconnect();
      node.port.close();
    }
    this.state = 'done';
    this.report(this.status());
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function isOffline(context: BaseAudioContext): boolean {
  const Offline = (globalThis as { OfflineAudioContext?: typeof OfflineAudioContext }).OfflineAudioContext;
  return Offline !== undefined && context instanceof Offline;
}

function abortedError(reason: unknown): VoxpipeError {
  return reason instanceof VoxpipeError ? reason : new VoxpipeError('aborted', 'The run was aborted', { stage: STAGE, cause: reason });
}

function checkChunk(chunk: PcmChunk): number {
  if (!chunk || !Array.isArray(chunk.channels) || chunk.channels.length === 0 || !chunk.channels.every((c) => c instanceof Float32Array)) {
    throw new VoxpipeError('format', `${STAGE} takes PCM chunks { sampleRate, channels: Float32Array[] }`, { stage: STAGE });
  }
  const frames = chunk.channels[0].length;
  if (chunk.channels.some((c) => c.length !== frames)) throw new VoxpipeError('format', `${STAGE}: channels differ in length`, { stage: STAGE });
  return frames;
}

/** Maps the stream's channels onto the output's: mono is copied, more than one into mono are averaged. */
function adaptChannels(input: Float32Array[], count: number): Float32Array[] {
  if (input.length === count) return input;
  if (input.length === 1) return Array.from({ length: count }, () => input[0]);
  if (count === 1) {
    const mono = new Float32Array(input[0].length);
    for (const samples of input) for (let i = 0; i < mono.length; i++) mono[i] += samples[i] / input.length;
    return [mono];
  }
  return Array.from({ length: count }, (_, c) => input[c] ?? new Float32Array(input[0].length));
}
