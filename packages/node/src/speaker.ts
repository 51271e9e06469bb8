import type { Writable } from 'node:stream';
import { anyPcm, NOTHING_HEARD, parseOptions, pcmFrames, VoxpipeError, type Heard, type PcmChunk, type SinkStage } from '@voxpipe/core';
import * as v from 'valibot';
import { writeWithDrain } from './io.js';
import { interleave, layoutGuard } from './pcm-bytes.js';
import { PlayerWords } from './player-words.js';

const schema = v.strictObject({
  /** The output device, as `speaker` names it (ALSA: `hw:0,0`, `default`). Default: the system's. */
  device: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Audio the device holds before it is heard, for `word` events and heard text (default 200). */
  bufferMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000))),
});

export type SpeakerOptions = v.InferInput<typeof schema>;

/** What a `speaker` run gives back. */
export interface SpeakerResult {
  bytes: number;
  sampleRate: number;
  channels: number;
  /** The words heard (all of them, when the device finished). */
  heard: Heard;
}

/** The part of the `speaker` package's constructor this sink uses. */
export type SpeakerConstructor = new (format: { channels: number; bitDepth: number; sampleRate: number; signed: boolean; device?: string }) => Writable;

const INSTALL_HINT =
  'speaker() needs the optional package "speaker" (a native module): npm install speaker. play() plays through aplay/ffplay/sox with no native build.';

/**
 * A sink that plays PCM through the `speaker` npm package (an optional peer
 * dependency, loaded only when a run starts: voxpipe never depends on it).
 * Use it when you want in-process playback and can build native modules;
 * otherwise `play()` does the same through an external player. A missing
 * package or a missing sound device is a `bad-request` error that says so.
 * Beware: on Linux with no sound card, `speaker` itself may abort the process
 * unless ALSA is pointed at a null device — prefer `play()` on servers.
 * Words (marks) are reported as `word` events when what the device took,
 * less its buffer (`bufferMs`), reaches them; the result says what was heard.
 *
 * ```ts
 * await pipeline(ttsSource({ baseUrl, text: 'Hello' }), decode(), speaker()).done;
 * await pipeline(tone({ ms: 500 }), speaker({ device: 'default' })).done;
 * ```
 *
 * `deps.load` replaces the package import (for tests: a fake Speaker class).
 */
export function speaker(options: SpeakerOptions = {}, deps: { load?: () => Promise<unknown> } = {}): SinkStage<PcmChunk, SpeakerResult> {
  const o = parseOptions('speaker', schema, options);
  return {
    role: 'sink',
    name: 'speaker',
    takes: anyPcm,
    spec: { stage: 'speaker', options: { ...o } },
    open(ctx, format) {
      const guard = layoutGuard('speaker');
      let layout = { sampleRate: format.sampleRate ?? 24000, channels: format.channels ?? 1 };
      let Speaker: SpeakerConstructor | undefined;
      let out: Writable | undefined;
      let words: PlayerWords | undefined;
      let failure: VoxpipeError | undefined;
      let bytes = 0;

      const deviceError = (error: unknown) =>
        new VoxpipeError(
          'bad-request',
          `speaker: the audio device could not be used (${error instanceof Error ? error.message : String(error)}). Is there a sound card? play() or wavFile() work without one.`,
          { stage: 'speaker', cause: error },
        );
      const shut = () => {
        if (out && !out.destroyed) {
          const closable = out as Writable & { close?: (flush: boolean) => void };
          if (typeof closable.close === 'function') closable.close(false);
          else out.destroy();
        }
      };
      ctx.defer(shut);

      return {
        sink: {
          async start() {
            Speaker = await loadSpeaker(deps.load);
          },
          async write(chunk) {
            if (failure) throw failure;
            layout = guard(chunk);
            if (!out) {
              try {
                out = new Speaker!({ ...layout, bitDepth: 16, signed: true, ...(o.device ? { device: o.device } : {}) });
              } catch (error) {
                throw deviceError(error);
              }
              out.on('error', (error) => {
                failure ??= deviceError(error);
              });
            }
            if (pcmFrames(chunk) === 0) return;
            (words ??= new PlayerWords(ctx, layout.sampleRate, o.bufferMs ?? 200)).given(chunk);
            const data = interleave(chunk, 's16le');
            const pending = writeWithDrain(out, data, ctx.signal);
            ctx.mark('playback-start');
            await pending;
            words.taken(pcmFrames(chunk));
            bytes += data.byteLength;
            if (failure) throw failure;
          },
          async close() {
            if (failure) throw failure;
            const s = out;
            if (!s || s.destroyed) return;
            // speaker emits 'close' once the device has played the buffered audio.
            await new Promise<void>((resolve) => {
              const done = () => resolve();
              s.once('close', done);
              s.once('error', done);
              ctx.onAbort(() => {
                shut();
                done();
              });
              s.end();
            });
            if (failure) throw failure;
            if (!ctx.signal.aborted) words?.finished(); // the device has played it all
          },
          abort() {
            shut();
          },
        },
        result: () => ({ bytes, ...layout, heard: words?.heard() ?? NOTHING_HEARD }),
      };
    },
  };
}

async function loadSpeaker(load?: () => Promise<unknown>): Promise<SpeakerConstructor> {
  let mod: unknown;
  try {
    if (load) mod = await load();
    else {
      const name = 'speaker'; // a variable, so bundlers and tsc leave the optional import alone
      mod = await import(name);
    }
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /(Cannot find (package|module)|Could not resolve) ['"]?speaker['"]?/.test(String(error)); // Node, bundlers
    throw new VoxpipeError('bad-request', missing ? INSTALL_HINT : `speaker() could not load the "speaker" package: ${(error as Error).message ?? error}`, {
      stage: 'speaker',
      cause: error,
    });
  }
  const ctor = (mod as { default?: unknown }).default ?? mod;
  if (typeof ctor !== 'function') throw new VoxpipeError('bad-request', 'The "speaker" package did not export a Speaker class', { stage: 'speaker' });
  return ctor as SpeakerConstructor;
}
