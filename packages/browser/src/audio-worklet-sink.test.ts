// audioWorkletSink's per-run control, in Node: the stage is only a
// description; each run provides its own control (`run.control(sink)`), and
// stop() on it ends that run `aborted` with no AbortController anywhere. The
// audio itself (fade, position, sample-exact playback) is tested in Chromium
// by test/browser.test.ts.
import { pipeline, type SourceStage } from '@voxpipe/core';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { audioWorkletSink } from './audio-worklet-sink.js';
import { browserPlayer } from './browser-player.js';
import type { PlaybackControl } from './player-control.js';
import type { PlayerControl } from './player-control.js';

/** Enough of a BaseAudioContext for a run that is stopped before its first chunk. */
function fakeContext(sampleRate = 24000): BaseAudioContext {
  const target = new EventTarget();
  return Object.assign(target, { sampleRate, state: 'running', createGain: () => ({}) }) as unknown as BaseAudioContext;
}

/** A PCM source that gives nothing until it is cancelled, and counts cancels. */
function waitingSource(cancels: { count: number }): SourceStage {
  return {
    role: 'source',
    name: 'waiting',
    gives: { kind: 'pcm', sampleRate: 24000, channels: 1 },
    open: () => new ReadableStream({ pull: () => new Promise<void>(() => {}), cancel: () => void cancels.count++ }),
  };
}

describe('audioWorkletSink: control per run', () => {
  it('each run provides its own control; stop() on one ends that run aborted and cancels its source, the other plays on', async () => {
    const sink = audioWorkletSink({ context: fakeContext() });
    const cancels = { count: 0 };
    const first = pipeline(waitingSource(cancels), sink);
    const second = pipeline(waitingSource(cancels), sink);
    await vi.waitFor(() => expect(first.control(sink) && second.control(sink)).toBeTruthy());
    const control = first.control(sink)!;
    expectTypeOf(control).toEqualTypeOf<PlaybackControl>();
    expect(second.control(sink)).not.toBe(control);
    expect(control.node).toBeUndefined();
    const nothing = { samples: 0, ms: 0, sampleRate: 24000, text: '', words: 0, charEnd: 0 };
    expect(control.status()).toEqual({ state: 'idle', played: nothing, bufferedMs: 0, targetMs: 0, underruns: 0, volume: 1, heldMs: 0, trimmedMs: 0 });

    expect(await control.stop({ fadeMs: 20 })).toEqual(nothing);
    const result = await first.done;
    expect(result.outcome).toBe('aborted');
    expect(cancels.count).toBe(1);
    expect(control.status().state).toBe('done');
    expect(await control.stop()).toEqual(nothing); // a second stop gives the same position

    expect(second.signal.aborted).toBe(false);
    second.abort();
    expect((await second.done).outcome).toBe('aborted');
    expect(cancels.count).toBe(2);
  });

  it("browserPlayer's sink gives a PlayerControl, whichever path it chose", async () => {
    const player = browserPlayer({ prefer: 'worklet', context: fakeContext() });
    expect(player.via).toBe('worklet');
    expect(player.stages.at(-1)).toBe(player.sink);
    expect('stop' in player).toBe(false);
    const run = pipeline(waitingSource({ count: 0 }), player.sink); // PCM straight into the worklet sink
    expectTypeOf(run.control(player.sink)).toEqualTypeOf<PlayerControl | undefined>();
    await vi.waitFor(() => expect(run.control(player.sink)).toBeDefined());
    await run.control(player.sink)!.stop();
    expect((await run.done).outcome).toBe('aborted');
  });
});
