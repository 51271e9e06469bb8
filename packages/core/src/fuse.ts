import { VoxpipeError } from './errors.js';
import { GIVEN_BACK } from './given-back.js';
import type { StageTransformer, SyncInput } from './stage.js';

/** One synchronous stage of a fused chain: its name (for errors), its transformer for this run, and what it does with its input's arrays (see `TransformStage.syncInput`). */
export interface FusedPart {
  readonly name: string;
  readonly transformer: StageTransformer<unknown, unknown>;
  readonly input?: SyncInput;
}

/** What a part's controller asks of its chain. */
interface ChainCalls {
  desiredSize(): number | null;
  enqueue(index: number, chunk: unknown): void;
  terminate(index: number): void;
  fail(reason: unknown): void;
}

/**
 * The controller a part sees, behaving as its own stream's would:
 * `enqueue` hands a chunk to the next part at once. Its `[GIVEN_BACK]`
 * says whether the chunk it gave last was read to the end before `enqueue`
 * returned (see `givenBack`).
 */
class PartController {
  [GIVEN_BACK] = false;

  constructor(
    private readonly chain: ChainCalls,
    private readonly index: number,
  ) {}

  get desiredSize(): number | null {
    return this.chain.desiredSize();
  }

  enqueue(chunk: unknown): void {
    this.chain.enqueue(this.index, chunk);
  }

  terminate(): void {
    this.chain.terminate(this.index);
  }

  error(reason: unknown): void {
    this.chain.fail(reason);
  }
}

/** A part while the chain runs. */
interface Link extends FusedPart {
  readonly index: number;
  readonly controller: PartController;
  /** Inside one of its own calls: a chunk given to it now waits in `pending` (a listener that reached back upstream). */
  running: boolean;
  readonly pending: unknown[];
  /** The part before it has ended: it flushes once its running call returns. */
  inputEnded: boolean;
  /** Terminated, flushed or failed: it gives no more chunks. */
  closed: boolean;
  /** The stages after it read what it gives to the end and keep none of its arrays (it gives them no further than a stage that reads). */
  readonly readAfter: boolean;
}

/**
 * Runs synchronous stages as one transformer, for one TransformStream: a
 * chunk goes through every stage in the same call, with no stream, queue or
 * promise between them. Each stage keeps its own transformer (its state,
 * its context's events, metrics and cleanups) and sees a controller that
 * behaves as its own stream's would: `enqueue` gives to the next stage,
 * `terminate` closes its output (the stages after it flush) and ends the
 * stages before it, `error` fails the chain, and a stage that is ended
 * refuses more chunks with a TypeError. What a stage throws fails the chain
 * as it was thrown. A part whose output the parts after it read and drop
 * (their `input`) may write its next chunk into the arrays it gave
 * (`givenBack`). Pipelines and `compose` fuse consecutive stages that
 * have a `syncTransformer`; the result is the unfused chain's, chunk for chunk.
 *
 * ```ts
 * const stream = new TransformStream(fuseTransformers([{ name: 'gain', transformer: g }, { name: 'meter', transformer: m }]));
 * ```
 */
export function fuseTransformers(parts: readonly FusedPart[]): StageTransformer<unknown, unknown> {
  let out: TransformStreamDefaultController<unknown> | undefined;
  let ended = false;
  let flushing = false;

  // part i's output is read and dropped when part i + 1 reads it, or passes it to a part whose output is
  const readAfter: boolean[] = [];
  for (let i = parts.length - 1; i >= 0; i--) {
    const next = parts[i + 1]?.input;
    readAfter[i] = next === 'read' || (next === 'passed' && readAfter[i + 1]);
  }

  const chain: ChainCalls = {
    desiredSize: () => out?.desiredSize ?? null,
    enqueue(i, chunk) {
      const link = links[i];
      if (link.closed) throw new TypeError(`"${link.name}" has ended and cannot give more chunks`);
      // a busy part after it would hold the chunk in `pending` past this call
      const whole = link.readAfter && !runningAfter(i);
      link.controller[GIVEN_BACK] = false;
      give(i + 1, chunk);
      link.controller[GIVEN_BACK] = whole;
    },
    terminate: (i) => terminate(i),
    fail: (reason) => fail(reason),
  };

  // every link and controller of one shape, so the calls on them stay monomorphic
  const links: Link[] = parts.map((part, i) => ({
    name: part.name,
    transformer: part.transformer,
    input: part.input,
    index: i,
    controller: new PartController(chain, i),
    running: false,
    pending: [],
    inputEnded: false,
    closed: false,
    readAfter: readAfter[i],
  }));

  /** Hands `chunk` to part `i` (the chain's output past the last part). */
  function give(i: number, chunk: unknown): void {
    if (i === links.length) {
      if (!ended) out!.enqueue(chunk);
      return;
    }
    const link = links[i];
    if (link.closed || link.inputEnded) return;
    if (link.running) {
      link.pending.push(chunk);
      return;
    }
    link.running = true;
    transform(link, chunk);
    settle(link);
  }

  function runningAfter(i: number): boolean {
    for (let j = i + 1; j < links.length; j++) if (links[j].running) return true;
    return false;
  }

  /** Part `link` finished a call: it takes what came in meanwhile, then ends if its input has. */
  function settle(link: Link): void {
    link.running = true;
    while (link.pending.length > 0 && !link.closed) transform(link, link.pending.shift());
    link.running = false;
    if (link.inputEnded && !link.closed) finish(link);
  }

  // The hot path (every chunk, every stage): no closure, one try.
  function transform(link: Link, chunk: unknown): void {
    const { transformer } = link;
    if (!transformer.transform) return give(link.index + 1, chunk);
    let result: unknown;
    try {
      result = transformer.transform(chunk, link.controller);
    } catch (error) {
      return fail(error);
    }
    if (result !== undefined) fail(notSynchronous(link, result));
  }

  /**
   * Runs one of a part's calls. What it throws fails the chain right there,
   * as its own stream would fail, and never reaches the stage before it
   * (whose `enqueue` it was inside).
   */
  function call(link: Link, work: () => unknown): void {
    let result: unknown;
    try {
      result = work();
    } catch (error) {
      return fail(error);
    }
    if (result !== undefined) fail(notSynchronous(link, result));
  }

  /** No more input for part `i`: it flushes and closes, now or, if it is inside a call, when that call returns. */
  function endInput(i: number): void {
    if (i === links.length) {
      if (!ended && !flushing) out!.terminate(); // while flushing, the stream closes itself when flush returns
      ended = true;
      return;
    }
    const link = links[i];
    if (link.inputEnded || link.closed) return;
    link.inputEnded = true;
    if (!link.running) finish(link);
  }

  function finish(link: Link): void {
    link.running = true;
    if (link.transformer.flush) call(link, () => link.transformer.flush!(link.controller));
    link.running = false;
    if (link.closed) return; // it terminated or the chain failed meanwhile
    link.closed = true;
    endInput(link.index + 1);
  }

  /** Part `i` closed its output: the parts before it end (cancelled), the parts after it flush, and the chain's output closes. */
  function terminate(i: number): void {
    const link = links[i];
    if (link.closed) return;
    for (let j = 0; j < i; j++) {
      if (links[j].closed) continue;
      links[j].closed = true;
      links[j].transformer.cancel?.(new TypeError(`"${link.name}" terminated its stream`));
    }
    link.closed = true;
    endInput(i + 1);
  }

  function fail(reason: unknown): void {
    for (const link of links) link.closed = true;
    if (!ended) {
      ended = true;
      out!.error(reason);
    }
  }

  return {
    start(controller) {
      out = controller;
      // last to first, so whatever a start gives finds the stages after it started
      for (let j = links.length - 1; j >= 0; j--) {
        const link = links[j];
        if (link.transformer.start) call(link, () => link.transformer.start!(link.controller));
      }
    },
    transform(chunk) {
      give(0, chunk);
    },
    flush() {
      flushing = true;
      endInput(0);
    },
    cancel(reason) {
      ended = true;
      for (const link of links) {
        if (link.closed) continue;
        link.closed = true;
        link.transformer.cancel?.(reason);
      }
    },
  };
}

/** The error for a stage that declared itself synchronous and returned something (a promise: its work would run outside the chain). */
function notSynchronous(link: Link, result: unknown): VoxpipeError {
  return new VoxpipeError('internal', `"${link.name}" declares a synchronous transformer but returned ${typeof result === 'object' ? 'a promise' : typeof result}`, { stage: link.name });
}
