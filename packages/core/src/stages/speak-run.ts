// One run of \`speak\`: sentences in, one request per sentence (up to
// \`concurrency\` in flight), their audio given in order, never overlapping.
import { VoxpipeError, toVoxpipeError } from '../errors.js';
import { anyPcm, text } from '../format.js';
import { openSource } from '../open-source.js';
import { mixChannels } from '../pcm/mix-channels.js';
import { pcmFrames, pcmTimeStrategy, silence, withMarks, type PcmChunk } from '../pcm/pcm.js';
import { assemble } from '../pipeline.js';
import { compose } from '../compose.js';
import { transformStage, type SourceStage, type StageContext, type TransformStage, type TransformPair } from '../stage.js';
import { ReadableStream } from '../streams.js';
import { sentences } from '../text/sentences.js';
import { answerMarks, type SpokenSentence } from '../text/answer-marks.js';
import { resample } from './resample.js';
import type { SpeakSettings } from './speak.js';

/** One sentence's request: its audio, read in turn. */
interface Job {
  index: number;
  text: string;
  /** What was sent, and where it is in the answer. */
  spoken: SpokenSentence;
  reader: ReadableStreamDefaultReader<PcmChunk>;
  /** Its audio has begun to be given (or its pause). */
  begun: boolean;
  /** Frees what its stages hold once its audio has all been read. */
  done(): void;
  /** Aborts its request and frees everything. */
  stop(reason: unknown): void;
}

/** Resolves everyone waiting at the next `notify()`. */
class Notifier {
  #waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  notify(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

/** The writable (text in) and readable (PCM out) of one run of `speak`. */
export function speakingPair(
  ctx: StageContext,
  o: SpeakSettings,
  request: (spoken: string) => SourceStage<Uint8Array>,
  decoder: TransformStage<Uint8Array, PcmChunk>,
): TransformPair<string, PcmChunk> {
  // The answer as written is kept (word marks point into it); each sentence is said as prose.
  const answer = answerMarks({ normalize: o.normalize });
  const split = compose<string, string>(answer.keeper, sentences({ maxWaitMs: o.maxWaitMs, maxChars: o.maxChars, language: o.language })).create(ctx, text);
  const sentenceReader = split.readable.getReader();
  const toRate = resample({ rate: o.sampleRate });
  // The read-ahead: fills while earlier sentences play, then holds the response back.
  const readAhead = transformStage<PcmChunk, PcmChunk>({
    name: 'readAhead',
    takes: anyPcm,
    gives: (format) => format,
    transformer: () => ({}),
    writableStrategy: { highWaterMark: 1 },
    readableStrategy: pcmTimeStrategy(o.prefetchMs),
  });
  const pauseFrames = Math.round((o.sentencePauseMs * o.sampleRate) / 1000);
  const jobs: Job[] = [];
  const arrived = new Notifier();
  const freed = new Notifier();
  let count = 0;
  let inputDone = false;
  let stopped = false;
  let failure: unknown;
  let output: ReadableStreamDefaultController<PcmChunk> | undefined;

  const stopAll = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    for (const job of jobs.splice(0)) job.stop(reason);
    void sentenceReader.cancel(reason).catch(() => {});
    arrived.notify();
    freed.notify();
  };
  const fail = (error: unknown) => {
    if (stopped) return;
    failure = ctx.signal.aborted ? ctx.signal.reason : toVoxpipeError(error, 'speak');
    stopAll(failure);
    try {
      output?.error(failure);
    } catch {
      // already closed
    }
  };
  ctx.onAbort(fail);
  ctx.defer(() => stopAll(new VoxpipeError('aborted', 'The run ended', { stage: 'speak' })));

  function start(sentence: string, spoken: SpokenSentence, index: number): Job {
    const controller = new AbortController();
    const { signal } = controller;
    const speech = assemble<PcmChunk>(request(spoken.text), decoder, toRate, readAhead);
    const reader = openSource(speech, { signal, parent: ctx }).readable.getReader();
    let ended = false;
    return {
      index,
      text: sentence,
      spoken,
      reader,
      begun: false,
      done() {
        ended = true;
      },
      stop(reason) {
        if (ended) return;
        ended = true;
        if (!signal.aborted) controller.abort(reason ?? new VoxpipeError('aborted', 'The sentence was stopped', { stage: 'speak' }));
        void reader.cancel(reason).catch(() => {});
      },
    };
  }

  /** Reads sentences while a request slot is free, and starts each one's request at once. */
  async function intake(): Promise<void> {
    try {
      for (;;) {
        while (!stopped && jobs.length >= o.concurrency) await freed.wait();
        if (stopped) return;
        const next = await sentenceReader.read();
        if (stopped) return;
        if (next.done) {
          inputDone = true;
          arrived.notify();
          return;
        }
        const spoken = answer.say(next.value);
        if (!spoken) continue; // nothing to say (a code block, a rule, only emoji)
        jobs.push(start(next.value, spoken, count++));
        arrived.notify();
      }
    } catch (error) {
      fail(error);
    }
  }

  const readable = new ReadableStream<PcmChunk>(
    {
      start(controller) {
        output = controller;
        void intake();
      },
      async pull(controller) {
        try {
          await give(controller);
        } catch (error) {
          fail(error);
          throw failure ?? error;
        }
      },
      cancel(reason) {
        stopAll(reason);
      },
    },
    { highWaterMark: 0 },
  );

  /** Gives the next chunk (or a pause, or the end), waiting for it as long as it takes. */
  async function give(controller: ReadableStreamDefaultController<PcmChunk>): Promise<void> {
    for (;;) {
      if (failure !== undefined) throw failure;
      if (stopped) return;
      const job = jobs[0];
      if (!job) {
        if (inputDone) {
          stopAll(undefined);
          controller.close();
          return;
        }
        await arrived.wait();
        continue;
      }
      if (!job.begun) {
        job.begun = true;
        ctx.emit('sentence', { index: job.index, text: job.text });
        if (job.index > 0 && pauseFrames > 0) {
          controller.enqueue(silence(o.sampleRate, 1, pauseFrames));
          return;
        }
      }
      const result = await job.reader.read();
      if (stopped) return;
      if (result.done) {
        jobs.shift();
        job.done();
        freed.notify();
        continue;
      }
      const chunk = mono(result.value);
      if (pcmFrames(chunk) === 0) continue;
      if (chunk.marks) chunk.marks = job.spoken.place(chunk.marks);
      controller.enqueue(chunk);
      return;
    }
  }
  return { writable: split.writable, readable };
}

/** The chunk as one channel (the mean of its channels). */
function mono(chunk: PcmChunk): PcmChunk {
  if (chunk.channels.length === 0) throw new VoxpipeError('format', '"speak" got a PCM chunk with no channels', { stage: 'speak' });
  return withMarks({ sampleRate: chunk.sampleRate, channels: mixChannels(chunk.channels, 1) }, chunk.marks);
}
