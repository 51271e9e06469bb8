import process from 'node:process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunEvents, type RunEvent } from './events.js';
import { pipeline } from './index.js';
import { collect } from './sinks/collect.js';
import { tone } from './sources/tone.js';
import { gain } from './stages/gain.js';
import { settleTurns } from './testing/harness.js';

/** Errors that reached the process while a test ran (they would have killed a plain Node program). */
let uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeEach(() => {
  uncaught = [];
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});

afterEach(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

/** Lets microtasks and a few macrotasks run, where a rethrown listener error would surface. */
async function settle(): Promise<void> {
  await settleTurns(10);
  await new Promise((resolve) => setTimeout(resolve, 0));
}

const event = (type: 'start' | 'warning' | 'underrun', t = 5): RunEvent =>
  ({ type, t, stage: 'x', detail: type === 'warning' ? { code: 'decode', message: 'bad frame' } : type === 'underrun' ? { bufferedMs: 0 } : {} }) as RunEvent;

describe('RunEvents', () => {
  it('reports a listener that throws as a warning to the other listeners, and keeps delivering', async () => {
    const events = new RunEvents();
    const heard: RunEvent[] = [];
    const thrower = () => {
      throw new Error('listener broke');
    };
    events.on('underrun', thrower);
    events.on('underrun', (e) => heard.push(e));
    events.on('warning', (e) => heard.push(e));
    events.emit(event('underrun'));
    expect(heard.map((e) => e.type)).toEqual(['underrun', 'warning']);
    expect(heard[1]).toMatchObject({ t: 5, stage: 'x', detail: { code: 'listener', message: expect.stringMatching(/"underrun".*listener broke/) } });
    expect(events.history().map((e) => e.type)).toEqual(['underrun', 'warning']);
    await settle();
    expect(uncaught).toEqual([]);
  });

  it('does not tell the throwing listener about its own failure', () => {
    const events = new RunEvents();
    const seenByThrower: string[] = [];
    events.on('*', (e) => {
      seenByThrower.push(e.type);
      throw new Error('always');
    });
    events.emit(event('start'));
    expect(seenByThrower).toEqual(['start']);
  });

  it('does not loop when warning listeners throw too', async () => {
    const events = new RunEvents();
    let calls = 0;
    const bad = () => {
      calls++;
      throw 'not even an Error';
    };
    events.on('warning', bad);
    events.on('warning', () => {
      calls++;
      throw new Error('second');
    });
    events.on('*', () => {
      calls++;
      throw new Error('star');
    });
    events.emit(event('warning'));
    // Three listeners hear the warning; each failure is one warning heard by the two others, whose failures are dropped.
    expect(calls).toBe(3 + 3 * 2);
    expect(events.history().filter((e) => e.type === 'warning')).toHaveLength(4);
    expect(events.history()[1].detail).toMatchObject({ code: 'listener', message: expect.stringContaining('not even an Error') });
    await settle();
    expect(uncaught).toEqual([]);
  });

  it('lets once() and later listeners work after a listener threw', async () => {
    const events = new RunEvents();
    events.on('start', () => {
      throw new Error('x');
    });
    events.emit(event('start'));
    expect((await events.once('warning')).detail.code).toBe('listener');
  });
});

describe('a run whose listener throws', () => {
  it('completes, reports a warning, and nothing reaches the process', async () => {
    const run = pipeline(tone({ ms: 200, sampleRate: 8000 }), gain({ db: -6 }), collect());
    const warnings: RunEvent[] = [];
    let thrown = 0;
    run.events.on('*', () => {
      thrown++;
      throw new Error('a listener with a bug');
    });
    run.events.on('warning', (e) => warnings.push(e));
    const result = await run.done;
    expect(result.outcome).toBe('completed');
    expect(result.value?.pcm?.channels[0].length).toBe(1600);
    expect(thrown).toBeGreaterThanOrEqual(2); // start and end at least
    expect(warnings.length).toBe(thrown);
    expect(warnings[0].detail).toMatchObject({ code: 'listener', message: expect.stringContaining('a listener with a bug') });
    expect(run.events.history().some((e) => e.type === 'end' && (e as RunEvent<'end'>).detail.outcome === 'completed')).toBe(true);
    await settle();
    expect(uncaught).toEqual([]);
  });
});
