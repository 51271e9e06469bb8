import { describe, expect, it } from 'vitest';
import { createContext } from './context.js';
import type { RunEvent } from './events.js';
import { anyPcm } from './format.js';
import { pipeline, transformStage, type PcmChunk, type SinkStage, type SourceStage } from './index.js';
import { ReadableStream } from './streams.js';
import { endlessSource } from './testing/endless-source.js';

const endless = () => endlessSource<PcmChunk>({ kind: 'pcm', sampleRate: 8000, channels: 1 }, () => ({ sampleRate: 8000, channels: [new Float32Array(80)] }));

/** A sink that ends its run by itself after `chunks` chunks, as `outcome`. */
function endingSink(chunks: number, outcome: 'completed' | 'aborted'): SinkStage<PcmChunk, number> {
  return {
    role: 'sink',
    name: 'ending',
    takes: anyPcm,
    open(ctx) {
      let seen = 0;
      return {
        sink: {
          write() {
            if (++seen === chunks) ctx.end(outcome);
          },
        },
        result: () => seen,
      };
    },
  };
}

describe('createContext', () => {
  it('runs cleanups once, last first; removes abort listeners at finish; a cleanup that throws is reported, not fatal', () => {
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const scope = createContext({ signal: controller.signal, onEvent: (e) => events.push(e) });
    const ctx = scope.for('stage');
    const order: string[] = [];
    ctx.defer(() => order.push('first'));
    ctx.defer(() => {
      throw new Error('broken cleanup');
    });
    ctx.defer(() => order.push('last'));
    let heard = 0;
    ctx.onAbort(() => heard++);
    expect(scope.pending()).toBe(4);
    scope.finish();
    scope.finish();
    expect(order).toEqual(['last', 'first']);
    expect(scope.pending()).toBe(0);
    controller.abort();
    expect(heard).toBe(0); // removed with the scope
    expect(events).toEqual([expect.objectContaining({ type: 'warning', detail: { code: 'cleanup', message: 'broken cleanup' } })]);
    ctx.defer(() => order.push('late'));
    expect(order).toEqual(['last', 'first', 'late']); // after the end: at once
  });

  it('onAbort hears an abort once, and a signal aborted already in a microtask', async () => {
    const controller = new AbortController();
    const scope = createContext({ signal: controller.signal });
    const reasons: unknown[] = [];
    scope.for('a').onAbort((reason) => reasons.push(reason));
    controller.abort('why');
    controller.abort('again');
    expect(reasons).toEqual(['why']);
    expect(scope.pending()).toBe(0);
    scope.for('b').onAbort((reason) => reasons.push(reason));
    expect(reasons).toEqual(['why']);
    await Promise.resolve();
    expect(reasons).toEqual(['why', 'why']);
  });

  it('onDeclare hears each declared format until the scope finishes, through a child that shares its parent\'s declared format too', () => {
    const scope = createContext({ signal: new AbortController().signal });
    const heard: string[] = [];
    const decoder = scope.for('decode');
    decoder.onDeclare((format) => heard.push(String(format.container)));
    const wrapper = scope.for('reconnect');
    const inner = createContext({ signal: new AbortController().signal, parent: wrapper, shareDeclared: true }).for('ttsSource');
    inner.declare({ kind: 'bytes', container: 'opus' });
    expect(decoder.declared).toEqual({ kind: 'bytes', container: 'opus' });
    scope.for('source').declare({ kind: 'bytes', container: 'mp3' });
    expect(heard).toEqual(['opus', 'mp3']);
    scope.finish();
    scope.for('source').declare({ kind: 'bytes', container: 'flac' });
    expect(heard).toEqual(['opus', 'mp3']);
  });

  it('a child keeps its own signal and cleanups, and gives its events, milestones and counters to its parent (except what it keeps)', () => {
    const events: RunEvent[] = [];
    const root = createContext({ signal: new AbortController().signal, onEvent: (e) => events.push(e) });
    const parent = root.for('parent');
    const inner = new AbortController();
    const child = createContext({ parent, signal: inner.signal, keep: ['bytes', 'first-byte'] });
    const ctx = child.for('inner');
    expect(ctx.signal).toBe(inner.signal);
    expect(ctx.mark('first-byte')).toBe(false);
    expect(ctx.mark('first-audio')).toBe(true);
    ctx.count('bytes', 10);
    ctx.count('retries', 2);
    expect(root.metrics.firstByteMs).toBeUndefined();
    expect(root.metrics.firstAudioMs).toBeGreaterThanOrEqual(0);
    expect(root.metrics.bytes).toBe(0);
    expect(root.metrics.retries).toBe(2);
    expect(events.map((e) => [e.type, e.stage])).toEqual([['first-audio', 'parent']]);
    let cleaned = 0;
    ctx.defer(() => cleaned++);
    child.finish();
    expect(cleaned).toBe(1);
  });
});

describe('ctx.end', () => {
  it("a sink's end('aborted') ends its run as aborted, with nothing to reject", async () => {
    const run = pipeline(endless(), endingSink(5, 'aborted'));
    const result = await run.done;
    expect(result.outcome).toBe('aborted');
  });

  it("a sink's end('completed') cancels upstream and completes with the sink's result", async () => {
    let released = 0;
    const counted = transformStage<PcmChunk, PcmChunk>({ name: 'counted', takes: anyPcm, gives: (f) => f, transformer: (ctx) => (ctx.defer(() => released++), {}) });
    const run = pipeline(endless(), counted, endingSink(7, 'completed'));
    const result = await run.done;
    expect(result.outcome).toBe('completed');
    expect(result.value).toBe(7);
    expect(released).toBe(1);
    expect(run.signal.aborted).toBe(true);
  });

  it('a run that completes by itself is not changed by a late end()', async () => {
    let late: (() => void) | undefined;
    const sink: SinkStage<PcmChunk, string> = {
      role: 'sink',
      name: 'late',
      takes: anyPcm,
      open(ctx) {
        late = () => ctx.end('aborted');
        return { sink: {}, result: () => 'done' };
      },
    };
    const empty: SourceStage<PcmChunk> = { ...endless(), open: () => new ReadableStream<PcmChunk>({ start: (c) => c.close() }) };
    const run = pipeline(empty, sink);
    const result = await run.done;
    late!();
    expect(result).toMatchObject({ outcome: 'completed', value: 'done' });
    expect(run.signal.aborted).toBe(false);
  });
});
