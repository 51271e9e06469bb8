import { Worker } from 'node:worker_threads';
import { VoxpipeError } from '@voxpipe/core';
import type { JobMessage, SegmentMark, WorkerInit, WorkerMessage } from './protocol.js';
import { DUE_MS, SliceScheduler, type Schedulable } from './scheduler.js';
import { EngineCost } from './capacity.js';
import { ESPEAK_SAMPLE_RATE } from './engine-types.js';
import { BASE_RATE_WPM } from './prosody.js';
import { segmentWeight } from './segment.js';

/** What a job's owner hears back, in order: chunks, then done or fail (never after cancel). */
export interface JobHandlers {
  /** A piece of audio and the words starting in it (offsets into the job's text). */
  chunk(samples: Float32Array, marks: readonly SegmentMark[]): void;
  done(): void;
  fail(error: VoxpipeError): void;
}

/** When a job should run and whose engine time it uses. */
export interface JobSchedule {
  owner: string;
  /** When the job's listener runs out of audio (`performance.now()` clock). */
  deadline(): number;
}

/** A submitted job: cancel() stops it in the queue or in its worker. */
export interface JobHandle {
  cancel(): void;
}

export interface PoolCounters {
  /** Jobs a worker stopped part-way because they were cancelled. */
  stoppedEarly: number;
  /** Workers that died and were replaced. */
  crashed: number;
}

interface Job extends Schedulable {
  message: JobMessage;
  handlers: JobHandlers;
  cancelled: boolean;
  /** It was not due when it started (work ahead of its listener). */
  ahead: boolean;
  slot: Slot | undefined;
  startedAt: number;
}

interface Slot {
  worker: Worker;
  flag: Int32Array;
  job: Job | undefined;
  lastError: Error | undefined;
}

/** How long one worker took to get ready. */
export interface WorkerStartup {
  /** Loading the wasm and its 24 MB of data, creating the synthesizer. */
  loadMs: number;
  /** The warm-up synthesis (0 when not warmed). */
  warmMs: number;
  /** What the thorough warm-up's last rounds cost per character (median), ms (0 without one). */
  msPerChar: number;
}

const WORKER_URL = new URL('./worker.mjs', import.meta.url);

/**
 * A fixed-size pool of espeak worker threads. Queued jobs are taken by
 * deadline and fair share (`SliceScheduler`: due jobs first, the least-served
 * owner first); work ahead of its listener uses all workers but one, kept
 * for due work. A dead worker fails its job with a `server` error and is
 * replaced; the others carry on. Idle workers are unref'd, so they never
 * keep a process alive.
 */
export class WorkerPool {
  readonly counters: PoolCounters = { stoppedEarly: 0, crashed: 0 };
  readonly scheduler = new SliceScheduler();
  /** Wall time per character of the jobs workers finish (a busy machine makes it larger), and audio per character. */
  cost = new EngineCost();
  readonly startups: WorkerStartup[] = [];
  private readonly slots: Slot[] = [];
  /** Every live thread, including ones still starting. */
  private readonly threads = new Set<Worker>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private restarting = 0;
  private wake: ReturnType<typeof setTimeout> | undefined;

  private constructor(private readonly warm: boolean | 'full') {}

  static async start(size: number, warm: boolean | 'full'): Promise<WorkerPool> {
    const pool = new WorkerPool(warm);
    const results = await Promise.allSettled(Array.from({ length: size }, () => pool.spawn()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await pool.close();
      throw new VoxpipeError('internal', `The espeak worker did not start: ${String(failure.reason?.message ?? failure.reason)}`, { cause: failure.reason });
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  get busy(): number {
    return this.slots.filter((slot) => slot.job !== undefined).length;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a job; its handlers are called as the worker produces audio. Without a schedule it is due at once and owned by nobody in particular. */
  submit(job: Omit<JobMessage, 'type' | 'id'>, handlers: JobHandlers, schedule?: JobSchedule): JobHandle {
    const submitted = performance.now();
    const entry: Job = {
      message: { type: 'job', id: this.nextId++, ...job },
      handlers,
      owner: schedule?.owner ?? '',
      deadline: schedule ? () => schedule.deadline() : () => submitted,
      cancelled: false,
      ahead: false,
      slot: undefined,
      startedAt: 0,
    };
    if (this.closed) {
      queueMicrotask(() => handlers.fail(new VoxpipeError('server', 'The espeak engine is closed')));
    } else {
      this.queue.push(entry);
      this.dispatch();
    }
    return { cancel: () => this.cancel(entry) };
  }

  /** Terminates every worker; queued and running jobs are dropped silently. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.wake !== undefined) clearTimeout(this.wake);
    this.queue.length = 0;
    this.slots.length = 0;
    await Promise.all([...this.threads].map((worker) => worker.terminate()));
  }

  private cancel(job: Job): void {
    if (job.cancelled) return;
    job.cancelled = true;
    const index = this.queue.indexOf(job);
    if (index >= 0) this.queue.splice(index, 1);
    if (job.slot) this.stop(job);
  }

  /** Tells the job's worker to stop it at its next ~100 ms piece. */
  private stop(job: Job): void {
    Atomics.store(job.slot!.flag, 0, job.message.id);
    Atomics.notify(job.slot!.flag, 0);
  }

  private dispatch(): void {
    const now = performance.now();
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (slot.job) continue;
      const index = this.scheduler.pick(this.queue, now);
      // Work that is ahead of its listener leaves one worker free for due work (a new request's first audio).
      const due = this.scheduler.isDue(this.queue[index], now);
      if (!due && this.aheadBusy >= this.aheadLimit()) {
        this.wakeWhenDue(now);
        break;
      }
      const [job] = this.queue.splice(index, 1);
      job.ahead = !due;
      job.slot = slot;
      job.startedAt = now;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.message);
    }
  }

  /** Workers that ahead work may use: all but one, so due work never waits for a worker. */
  private aheadLimit(): number {
    return Math.max(1, this.slots.length - 1);
  }

  /**
   * The highest cost per character the jobs running now have already
   * reached, ms (0 when none runs): a lower bound on what they cost, seen
   * before they finish, so a machine that turns slow counts at once.
   */
  runningMsPerChar(now: number): number {
    let most = 0;
    for (const slot of this.slots) if (slot.job) most = Math.max(most, (now - slot.job.startedAt) / Math.max(1, segmentWeight(slot.job.message.text)));
    return most;
  }

  /** Workers running work that was ahead of its listener when it started. */
  get aheadBusy(): number {
    let n = 0;
    for (const slot of this.slots) if (slot.job?.ahead) n++;
    return n;
  }

  /** Dispatches again when the first queued job becomes due (a free worker was held back for due work meanwhile). */
  private wakeWhenDue(now: number): void {
    if (this.wake !== undefined) clearTimeout(this.wake);
    let first = Infinity;
    for (const job of this.queue) first = Math.min(first, job.deadline() - DUE_MS);
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.dispatch();
    }, Math.max(1, Math.ceil(first - now)));
    this.wake.unref?.();
  }

  /** Forgets the jobs measured so far: the cost starts again from the workers' warm-up. */
  forgetCost(): void {
    this.cost = new EngineCost();
    for (const startup of this.startups) this.cost.seed(startup.msPerChar);
  }

  /** Counts a whole job's wall time and audio into the engine's cost. */
  private measure(job: Job, frames: number): void {
    const { text, rate } = job.message;
    this.cost.observe(segmentWeight(text), performance.now() - job.startedAt, (frames * 1000) / ESPEAK_SAMPLE_RATE, rate / BASE_RATE_WPM);
  }

  private charge(job: Job): void {
    const now = performance.now();
    this.scheduler.charge(job.owner, now - job.startedAt, now);
  }

  private spawn(): Promise<void> {
    const flag = new SharedArrayBuffer(4);
    const worker = new Worker(WORKER_URL, { workerData: { flag, warm: this.warm } satisfies WorkerInit });
    const slot: Slot = { worker, flag: new Int32Array(flag), job: undefined, lastError: undefined };
    this.threads.add(worker);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          ready = true;
          worker.unref();
          if (this.closed) {
            void worker.terminate();
            resolve();
            return;
          }
          this.startups.push({ loadMs: message.loadMs, warmMs: message.warmMs, msPerChar: message.msPerChar });
          this.cost.seed(message.msPerChar);
          this.slots.push(slot);
          resolve();
          this.dispatch();
          return;
        }
        this.onMessage(slot, message);
      });
      worker.on('error', (error) => {
        slot.lastError = error;
      });
      worker.on('exit', (code) => {
        this.threads.delete(worker);
        if (!ready) {
          reject(slot.lastError ?? new Error(`worker exited with code ${code} before it was ready`));
          return;
        }
        this.onExit(slot, code);
      });
    });
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    const job = slot.job;
    if (!job || message.type === 'ready' || message.id !== job.message.id) return;
    if (message.type === 'chunk') {
      if (!job.cancelled) job.handlers.chunk(message.samples, message.marks);
      return;
    }
    slot.job = undefined;
    slot.worker.unref();
    this.charge(job);
    if (message.type === 'done' && message.stopped) this.counters.stoppedEarly++;
    else if (message.type === 'done' && !job.message.skipFrames) this.measure(job, message.frames);
    if (!job.cancelled) {
      if (message.type === 'done') job.handlers.done();
      else job.handlers.fail(new VoxpipeError('server', `espeak synthesis failed: ${message.message}`));
    }
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return; // terminated by close()
    this.slots.splice(index, 1);
    this.counters.crashed++;
    const job = slot.job;
    slot.job = undefined;
    if (job) this.charge(job);
    if (job && !job.cancelled) {
      const why = slot.lastError ? `: ${slot.lastError.message}` : ` (exit code ${code})`;
      job.handlers.fail(new VoxpipeError('server', `The espeak worker crashed${why}`, { cause: slot.lastError }));
    }
    if (this.closed) return;
    this.restarting++;
    this.spawn().then(
      () => {
        this.restarting--;
      },
      (error: unknown) => {
        this.restarting--;
        if (this.slots.length > 0 || this.restarting > 0) return;
        // No worker left and none coming: fail what is waiting rather than hang.
        for (const waiting of this.queue.splice(0)) {
          waiting.handlers.fail(new VoxpipeError('server', `No espeak worker could be restarted: ${String((error as Error)?.message ?? error)}`));
        }
      },
    );
  }
}
