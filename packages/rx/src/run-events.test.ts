import { collect, pipeline, tone, type RunEvent } from '@voxpipe/core';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { runEvents } from './run-events.js';

describe('runEvents', () => {
  it("gives a run's events from start to end, then completes", async () => {
    const run = pipeline(tone({ ms: 100 }), collect());
    const events = await lastValueFrom(runEvents(run).pipe(toArray()));
    expect(events[0].type).toBe('start');
    expect(events.at(-1)).toMatchObject({ type: 'end', detail: { outcome: 'completed' } });
    expect(events.map((e) => e.type)).toContain('first-audio');
  });

  it('replays what already happened to a late subscriber (or only completes, without replay)', async () => {
    const run = pipeline(tone({ ms: 50 }), collect());
    await run.done;
    const replayed = await lastValueFrom(runEvents(run).pipe(toArray()));
    expect(replayed.map((e) => e.type)).toEqual(run.events.history().map((e) => e.type));
    const none: RunEvent[] = await lastValueFrom(runEvents(run, { replay: false }).pipe(toArray()));
    expect(none).toEqual([]);
  });

  it('reports an aborted run and still completes', async () => {
    const run = pipeline(tone({ ms: 60_000 }), collect());
    const all = lastValueFrom(runEvents(run).pipe(toArray()));
    run.abort();
    expect((await all).at(-1)).toMatchObject({ type: 'end', detail: { outcome: 'aborted' } });
  });
});
