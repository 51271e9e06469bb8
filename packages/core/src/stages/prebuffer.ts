import * as v from 'valibot';
import { VoxpipeError } from '../errors.js';
import { refineFormat, type Format } from '../format.js';
import { msSchema, parseOptions } from '../options.js';
import type { PcmChunk } from '../pcm/pcm.js';
import type { StageContext, TransformStage } from '../stage.js';
import { ReadableStream, WritableStream } from '../streams.js';
import { pcmChecker } from '../pcm/pcm-check.js';

const positiveMs = v.pipe(msSchema, v.gtValue(0), v.maxValue(600_000));

const schema = v.pipe(
  v.strictObject({
    /** What flows through: decoded `pcm` (default) or `bytes` (before a decoder). */
    kind: v.optional(v.picklist(['pcm', 'bytes']), 'pcm'),
    /** Hold until this many chunks are in (default 3 when `ms` is not given). */
    chunks: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000))),
    /** Hold until this much audio is in. Bytes are measured only when their rate and encoding are known; otherwise `chunks` (3) is used. */
    ms: v.optional(positiveMs),
    /** After an underrun, hold again: `true` until the starting threshold, `{ ms }` until that much audio. */
    rebuffer: v.optional(v.union([v.boolean(), v.strictObject({ ms: positiveMs })]), false),
    /** Keep taking input until this much audio is held, even past the threshold (a jitter reserve). */
    maxMs: v.optional(positiveMs),
  }),
  v.check((o) => o.chunks === undefined || o.ms === undefined, 'Give "chunks" or "ms", not both'),
);

export type PrebufferOptions = v.InferInput<typeof schema>;

const DEFAULT_CHUNKS = 3;

/**
 * Holds audio back until a few chunks (default 3) or some milliseconds are
 * in, then lets it flow — the product's "buffer 2–3 chunks before playback",
 * so a player does not start and immediately starve. A short utterance that
 * never reaches the threshold is still given in full at the end. Put it just
 * before the player: on decoded PCM (`ms` is audio time) or on bytes with
 * `kind: 'bytes'` (`ms` works for raw PCM / G.711 bytes of a known rate,
 * otherwise it counts chunks).
 *
 * Events: `buffering` when it starts holding, `playing` when it lets go,
 * `underrun` (and the `underruns` counter) when the consumer wants audio
 * that has not arrived. With `rebuffer`, an underrun makes it hold again.
 * Behind a stalled consumer it holds at most its threshold (or `maxMs`, if
 * larger) and then pushes back. Chunks pass through untouched (word marks
 * included).
 *
 * ```ts
 * pipeline(ttsSource({ baseUrl, text }), decode(), prebuffer({ ms: 250, rebuffer: true }), speaker());
 * pipeline(ttsSource({ baseUrl, text }), prebuffer({ kind: 'bytes', chunks: 3 }), decode(), speaker());
 * ```
 */
export function prebuffer(options: PrebufferOptions = {}): TransformStage<unknown, unknown> {
  const o = parseOptions('prebuffer', schema, options);
  const kind = o.kind;
  return {
    role: 'transform',
    name: 'prebuffer',
    takes: { kind },
    gives: (input) => input,
    spec: { stage: 'prebuffer', options: { ...o } },
    create(ctx, input) {
      return holdingPair(ctx, input, o) as unknown as TransformStream<unknown, unknown>;
    },
  };
}

type Parsed = v.InferOutput<typeof schema>;
type State = 'idle' | 'buffering' | 'playing';
/** What to hold until: a chunk count or milliseconds of audio. */
type Threshold = { chunks: number; ms?: undefined } | { ms: number; chunks?: undefined };

/**
 * The stage is a writable and a readable sharing one queue, rather than a
 * TransformStream, because it has to see the consumer's pulls to notice an
 * underrun (a transformer never sees them).
 */
function holdingPair(ctx: StageContext, input: Format, o: Parsed): { writable: WritableStream<unknown>; readable: ReadableStream<unknown> } {
  const held: unknown[] = [];
  const heldMsOf: number[] = [];
  let heldMs = 0;
  let state: State = 'idle';
  let ended = false;
  let stopped = false;
  let wanted = false;
  let target: Threshold = { chunks: DEFAULT_CHUNKS };
  let start: Threshold = target;
  let again: Threshold = target;
  let measure: ((chunk: unknown) => number) | undefined;
  let measurable = false;
  let readController!: ReadableStreamDefaultController<unknown>;
  let writeController!: WritableStreamDefaultController;
  let waiter: { resolve: () => void; reject: (reason: unknown) => void } | undefined;

  /** Settles how chunks are measured, at the first chunk (when the declared format is known). */
  const setUp = () => {
    if (input.kind === 'pcm') {
      const check = pcmChecker('prebuffer', input);
      measure = (chunk) => {
        const shape = check(chunk as PcmChunk);
        return (shape.frames * 1000) / shape.sampleRate;
      };
      measurable = true;
    } else {
      const bytesPerMs = bytesPerMillisecond(refineFormat(input, ctx.declared ?? {}));
      measurable = bytesPerMs !== undefined;
      measure = (chunk) => {
        if (!ArrayBuffer.isView(chunk)) throw new VoxpipeError('format', '"prebuffer" with kind "bytes" takes Uint8Array chunks', { stage: 'prebuffer' });
        return bytesPerMs === undefined ? Number.NaN : chunk.byteLength / bytesPerMs;
      };
    }
    if (o.ms !== undefined && !measurable) {
      ctx.emit('warning', {
        code: 'prebuffer-chunks',
        message: `"prebuffer" cannot measure ms of these bytes (rate or encoding unknown); holding ${DEFAULT_CHUNKS} chunks instead`,
      });
    }
    start = o.ms !== undefined && measurable ? { ms: o.ms } : { chunks: o.chunks ?? DEFAULT_CHUNKS };
    again = typeof o.rebuffer === 'object' && measurable ? { ms: o.rebuffer.ms } : start;
  };

  const reached = (t: Threshold) => (t.ms !== undefined ? heldMs >= t.ms : held.length >= t.chunks);
  /** Whether a writer may hand over another chunk: always while holding; once playing, while below the thresholds or `maxMs`. */
  const hasRoom = () => {
    if (state !== 'playing') return true;
    if (!reached(start) || !reached(again)) return true;
    return measurable && o.maxMs !== undefined && heldMs < o.maxMs;
  };
  const wake = () => {
    if (waiter && hasRoom()) {
      const w = waiter;
      waiter = undefined;
      w.resolve();
    }
  };
  const play = () => {
    state = 'playing';
    ctx.emit('playing', { bufferedMs: heldMs });
  };
  const deliver = () => {
    if (!wanted || stopped) return;
    if (held.length > 0 && state === 'playing') {
      const chunk = held.shift();
      heldMs = held.length === 0 ? 0 : heldMs - heldMsOf.shift()!;
      if (held.length === 0) heldMsOf.length = 0;
      wanted = false;
      readController.enqueue(chunk); // may pull again at once, re-entering deliver
      wake();
    } else if (held.length === 0 && ended) {
      stopped = true;
      readController.close();
    }
  };
  /** Ends both sides. `fromWritable` when the writable is already being aborted (erroring it again trips Node). */
  const stop = (reason: unknown, fromWritable = false) => {
    if (stopped) return;
    stopped = true;
    held.length = 0;
    heldMsOf.length = 0;
    heldMs = 0;
    try {
      readController.error(reason);
    } catch {
      // already closed or errored
    }
    if (!fromWritable) {
      try {
        writeController.error(reason);
      } catch {
        // already closed or errored
      }
    }
    const w = waiter;
    waiter = undefined;
    w?.reject(reason);
  };

  ctx.onAbort(stop);
  ctx.defer(() => {
    if (!stopped || waiter) stop(new VoxpipeError('aborted', 'The run ended', { stage: 'prebuffer' }));
  });

  const writable = new WritableStream<unknown>(
    {
      start(controller) {
        writeController = controller;
        controller.signal?.addEventListener('abort', () => stop(controller.signal.reason, true), { once: true });
      },
      write(chunk) {
        if (stopped) throw new VoxpipeError('aborted', 'prebuffer was stopped', { stage: 'prebuffer' });
        if (!measure) setUp();
        let ms: number;
        try {
          ms = measure!(chunk);
        } catch (error) {
          stop(error);
          throw error;
        }
        held.push(chunk);
        heldMsOf.push(ms);
        heldMs += ms;
        if (state === 'idle') {
          state = 'buffering';
          target = start;
          ctx.emit('buffering', { bufferedMs: heldMs, reason: 'start' });
        }
        if (state === 'buffering' && reached(target)) play();
        deliver();
        if (hasRoom() || stopped) return;
        return new Promise<void>((resolve, reject) => {
          waiter = { resolve, reject };
        });
      },
      close() {
        ended = true;
        if (state === 'buffering' && held.length > 0) play();
        deliver();
      },
      abort(reason) {
        stop(reason, true);
      },
    },
    { highWaterMark: 1 },
  );

  const readable = new ReadableStream<unknown>(
    {
      start(controller) {
        readController = controller;
      },
      pull() {
        wanted = true;
        if (state === 'playing' && held.length === 0 && !ended) {
          ctx.emit('underrun', { bufferedMs: 0 });
          ctx.count('underruns');
          if (o.rebuffer !== false) {
            state = 'buffering';
            target = again;
            ctx.emit('buffering', { bufferedMs: 0, reason: 'underrun' });
            wake();
          }
        }
        deliver();
      },
      cancel(reason) {
        stop(reason);
      },
    },
    { highWaterMark: 0 },
  );

  return { writable, readable };
}

/** Bytes per millisecond of raw audio, when the format says enough to know it. */
function bytesPerMillisecond(format: Format): number | undefined {
  const rate = format.sampleRate;
  if (!rate) return undefined;
  const channels = format.channels ?? 1;
  let sampleBytes: number | undefined;
  if (format.container === 'mulaw' || format.container === 'alaw') sampleBytes = 1;
  else if (format.container === 'pcm' || format.container === undefined) {
    sampleBytes = format.encoding === 's16le' ? 2 : format.encoding === 'f32le' ? 4 : undefined;
  }
  return sampleBytes === undefined ? undefined : (rate * channels * sampleBytes) / 1000;
}
