import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('streams', () => {
  it('uses the platform stream classes where they exist', async () => {
    const streams = await import('./streams.js');
    expect(streams.streamsRuntime).toBe('native');
    expect(streams.TransformStream).toBe(globalThis.TransformStream);
  });

  it('where the globals are missing, loads the ponyfill, runs a real pipeline on it and patches no global', async () => {
    const native = await import('./index.js');
    const expected = (await native.pipeline(native.tone({ ms: 120, frequency: 330 }), native.gain({ db: -6 }), native.fade(), native.collect()).done).value!.pcm!;
    vi.resetModules();
    for (const name of ['ReadableStream', 'WritableStream', 'TransformStream']) vi.stubGlobal(name, undefined);

    const core = await import('./index.js');
    expect(core.streamsRuntime).toBe('ponyfill');
    expect(globalThis.ReadableStream).toBeUndefined();
    expect(globalThis.TransformStream).toBeUndefined();
    const run = core.pipeline(core.tone({ ms: 120, frequency: 330 }), core.gain({ db: -6 }), core.fade(), core.collect());
    const { outcome, value } = await run.done;
    expect(outcome).toBe('completed');
    expect(value!.pcm!.channels[0]).toEqual(expected.channels[0]);
    expect(globalThis.WritableStream).toBeUndefined();
  });
});
