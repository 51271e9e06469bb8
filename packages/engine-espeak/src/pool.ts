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
  /** Jobs a worker stopped because they were cancelled: part-way, or while they waited in it, before they began. */
  stoppedEarly: number;
  /** Workers that died and were replaced. */
  crashed: number;
}

interface Job extends Schedulable {
  message: JobMessage;
  /** Its text's weight in characters (`segmentWeight`), what its cost is counted by. */
  chars: number;
  handlers: JobHandlers;
  cancelled: boolean;
  /** It was not due when it was sent (work ahead of its listener). */
  ahead: boolean;
  slot: Slot | undefined;
}

interface Slot {
  worker: Worker;
  /** Int32Array[2]: a cell per job in the worker (running, waiting), holding the id of the job to stop. */
  flag: Int32Array;
  /** Float64Array[2], written by the worker: the id of the job it runs and when it started it (ms since the epoch). */
  running: Float64Array;
  /** The jobs sent to the worker and not yet answered: the one it runs first, then at most one waiting behind it. */
  jobs: Job[];
  /** Jobs sent so far: a job's stop cell is its number's parity, so the two jobs in a worker never share one. */
  sent: number;
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

  private constructor(
    private readonly warm: boolean | 'full',
    private readonly nice: number,
  ) {}

  static async start(size: number, warm: boolean | 'full', nice = 0): Promise<WorkerPool> {
    const pool = new WorkerPool(warm, nice);
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
    return this.slots.filter((slot) => slot.jobs.length > 0).length;
  }

  /** Jobs not started and not cancelled: in the queue, or waiting in a worker behind its running job. */
  get queued(): number {
    return this.queue.length + this.waitingInWorkers;
  }

  /** Jobs (not cancelled) sent to a busy worker, waiting there behind its running job. */
  get waitingInWorkers(): number {
    let waiting = 0;
    for (const slot of this.slots) for (let i = 1; i < slot.jobs.length; i++) if (!slot.jobs[i].cancelled) waiting++;
    return waiting;
  }

  /** Queues a job; its handlers are called as the worker produces audio. Without a schedule it is due at once and owned by nobody in particular. */
  submit(job: Omit<JobMessage, 'type' | 'id' | 'cell'>, handlers: JobHandlers, schedule?: JobSchedule): JobHandle {
    const submitted = performance.now();
    const entry: Job = {
      message: { type: 'job', id: this.nextId++, cell: 0, ...job },
      chars: segmentWeight(job.text),
      handlers,
      owner: schedule?.owner ?? '',
      deadline: schedule ? () => schedule.deadline() : () => submitted,
      cancelled: false,
      ahead: false,
      slot: undefined,
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

  /** Tells the job's worker to stop it at its next ~100 ms piece (or not to start it). */
  private stop(job: Job): void {
    const cell = job.message.cell;
    Atomics.store(job.slot!.flag, cell, job.message.id);
    Atomics.notify(job.slot!.flag, cell);
  }

  /**
   * Sends queued jobs to workers: first to idle ones, then one more to each
   * busy worker (the one whose job should end first, first), to start the
   * moment its job ends: a worker that waited for this thread to hear its
   * job was done and send the next sat idle for as long as this thread was
   * busy. Only due work waits in a worker; work ahead of its listener goes
   * to an idle worker, leaving one for due work.
   */
  private dispatch(): void {
    const now = performance.now();
    const idle = this.slots.filter((slot) => slot.jobs.length === 0);
    const busy = this.slots.filter((slot) => slot.jobs.length === 1).sort((a, b) => this.endsIn(a, now) - this.endsIn(b, now));
    for (const slot of [...idle, ...busy]) {
      if (this.queue.length === 0) return;
      const index = this.scheduler.pick(this.queue, now);
      // The pick is due unless nothing queued is.
      const due = this.scheduler.isDue(this.queue[index], now);
      if (!due && (slot.jobs.length > 0 || this.aheadBusy >= this.aheadLimit())) {
        this.wakeWhenDue(now);
        return;
      }
      this.send(slot, this.queue.splice(index, 1)[0], !due);
    }
  }

  /** How long the slot's running job should still take, ms, at the measured cost (all of it when not begun). */
  private endsIn(slot: Slot, now: number): number {
    const start = this.startOf(slot);
    return slot.jobs[0].chars * this.cost.msPerChar - (start === undefined ? 0 : now - start);
  }

  private send(slot: Slot, job: Job, ahead: boolean): void {
    job.ahead = ahead;
    job.slot = slot;
    job.message.cell = slot.sent++ % 2;
    slot.jobs.push(job);
    slot.worker.ref();
    slot.worker.postMessage(job.message);
  }

  /** When the slot's running job started (`performance.now()` clock), or undefined when the worker has not begun it. */
  private startOf(slot: Slot): number | undefined {
    const job = slot.jobs[0];
    if (!job || slot.running[0] !== job.message.id) return undefined;
    return slot.running[1] - performance.timeOrigin;
  }

  /** Workers that ahead work may use: all but one, so due work never waits for a worker. */
  private aheadLimit(): number {
    return Math.max(1, this.slots.length - 1);
  }

  /** The jobs running now: their characters and how long they have run, ms. */
  running(now: number): { chars: number; ms: number }[] {
    const out: { chars: number; ms: number }[] = [];
    for (const slot of this.slots) {
      const start = this.startOf(slot);
      if (start !== undefined) out.push({ chars: slot.jobs[0].chars, ms: now - start });
    }
    return out;
  }

  /** Workers given work that was ahead of its listener when it was sent. */
  get aheadBusy(): number {
    let n = 0;
    for (const slot of this.slots) if (slot.jobs.some((job) => job.ahead)) n++;
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

  /** Counts a whole job's wall time in its worker and its audio into the engine's cost. */
  private measure(job: Job, ms: number, frames: number): void {
    this.cost.observe(job.chars, ms, (frames * 1000) / ESPEAK_SAMPLE_RATE, job.message.rate / BASE_RATE_WPM);
  }

  private charge(job: Job, ms: number): void {
    this.scheduler.charge(job.owner, ms, performance.now());
  }

  private spawn(): Promise<void> {
    const flag = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    const running = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT);
    const worker = new Worker(WORKER_URL, { workerData: { flag, running, warm: this.warm, nice: this.nice } satisfies WorkerInit });
    const slot: Slot = { worker, flag: new Int32Array(flag), running: new Float64Array(running), jobs: [], sent: 0, lastError: undefined };
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
    const job = slot.jobs[0];
    if (!job || message.type === 'ready' || message.id !== job.message.id) return;
    if (message.type === 'chunk') {
      if (!job.cancelled) job.handlers.chunk(message.samples, message.marks);
      return;
    }
    slot.jobs.shift();
    if (slot.jobs.length === 0) slot.worker.unref();
    this.charge(job, message.ms);
    if (message.type === 'done' && message.stopped) this.counters.stoppedEarly++;
    else if (message.type === 'done' && !job.message.skipFrames) this.measure(job, message.ms, message.frames);
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
    const start = this.startOf(slot);
    const [job, ...waiting] = slot.jobs.splice(0);
    if (job) this.charge(job, start === undefined ? 0 : performance.now() - start);
    // Jobs waiting behind it never started: they go back to the queue.
    for (const next of waiting) {
      next.slot = undefined;
      if (!next.cancelled) this.queue.push(next);
    }
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
