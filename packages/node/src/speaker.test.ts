import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { collect, fromIterable, pipeline, tone, VoxpipeError } from '@voxpipe/core';
import { spokenWords } from '@voxpipe/core/testing';
import { speaker } from './speaker.js';
import { concatBytes, referenceS16 } from './test-support.js';

// Never import the real `speaker` in tests: with no sound card it can abort the process.
const speakerInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('speaker');
    return true;
  } catch {
    return false;
  }
})();

/** A stand-in for the `speaker` package: a Writable that records its format and bytes. */
function fakeSpeaker(behaviour: { failOnWrite?: boolean; failInConstructor?: boolean } = {}) {
  const made: { format: unknown; bytes: Uint8Array[] }[] = [];
  class FakeSpeaker extends Writable {
    constructor(format: unknown) {
      if (behaviour.failInConstructor) throw new Error('Could not open ALSA device');
      super();
      made.push({ format, bytes: [] });
    }
    override _write(chunk: Uint8Array, _enc: BufferEncoding, callback: (error?: Error | null) => void) {
      if (behaviour.failOnWrite) return callback(new Error('open() failed: -2'));
      made[made.length - 1].bytes.push(new Uint8Array(chunk));
      callback();
    }
  }
  return { made, load: async () => ({ default: FakeSpeaker }) };
}

describe('speaker', () => {
  if (speakerInstalled) console.warn('speaker: the "package missing" test is skipped, the optional speaker package is installed here');
  it.runIf(!speakerInstalled)('says to install the optional package when it is missing (skipped where speaker is installed)', async () => {
    const error = await pipeline(tone({ ms: 100 }), speaker()).done.catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error).toMatchObject({ code: 'bad-request', stage: 'speaker' });
    expect(error.message).toMatch(/npm install speaker/);
  });

  it('feeds the speaker 16-bit PCM in its format, marking playback-start', async () => {
    const fake = fakeSpeaker();
    const run = pipeline(tone({ ms: 200, channels: 2 }), speaker({}, { load: fake.load }));
    const { value } = await run.done;
    expect(fake.made).toHaveLength(1);
    expect(fake.made[0].format).toEqual({ sampleRate: 24000, channels: 2, bitDepth: 16, signed: true });
    const expected = referenceS16((await pipeline(tone({ ms: 200, channels: 2 }), collect()).done).value!.pcm!);
    expect(concatBytes(fake.made[0].bytes)).toEqual(expected);
    expect(value).toMatchObject({ bytes: expected.byteLength, sampleRate: 24000, channels: 2, heard: { text: '', words: 0, charEnd: 0 } });
    expect(run.metrics.playbackStartMs).toBeTypeOf('number');
  });

  it('reports each word once, in order, as the device plays it, and what was heard', async () => {
    const text = 'Words through the device, one by one.';
    const { chunks } = spokenWords(text, { chunkFrames: 700, msPerChar: 10, gapMs: 5 });
    const fake = fakeSpeaker();
    const run = pipeline(fromIterable(chunks, { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } }), speaker({ bufferMs: 50 }, { load: fake.load }));
    const fired: string[] = [];
    run.events.on('word', (e) => {
      expect(text.slice(e.detail.charStart, e.detail.charEnd)).toBe(e.detail.text);
      fired.push(e.detail.text);
    });
    const { value } = await run.done;
    expect(fired).toEqual(text.split(' '));
    expect(value!.heard).toMatchObject({ text, words: fired.length, charEnd: text.length });
  });

  it('reports a missing audio device as a clear bad-request error', async () => {
    for (const behaviour of [{ failOnWrite: true }, { failInConstructor: true }]) {
      const error = await pipeline(tone({ ms: 200 }), speaker({}, fakeSpeaker(behaviour))).done.catch((e) => e);
      expect(error).toBeInstanceOf(VoxpipeError);
      expect(error.code).toBe('bad-request');
      expect(error.message).toMatch(/audio device could not be used.*sound card/);
    }
  });

  it('rejects a module without a Speaker class, and bad options', async () => {
    const error = await pipeline(tone({ ms: 50 }), speaker({}, { load: async () => ({}) })).done.catch((e) => e);
    expect(error.message).toMatch(/did not export a Speaker class/);
    expect(() => speaker({ device: 7 } as never)).toThrow(/speaker.*device/);
  });
});
