/**
 * Audio made in-process for the codecs' tests and benchmarks: no fixture
 * files, no external tools. Not part of the package's public surface.
 */
import { anyPcm, createContext, type PcmChunk } from '@voxpipe/core';
import { mp3Encode, type Mp3EncodeOptions } from '../mp3-encode.js';
import { interleave, wavHeader } from '../wav-encode.js';
import { joinBytes as join } from '@voxpipe/core/testing';

/** A sine per channel (channel c at `frequency` × (c + 1)), amplitude 0.5. */
export function sine(options: { sampleRate?: number; channels?: number; frames: number; frequency?: number }): PcmChunk {
  const sampleRate = options.sampleRate ?? 24000;
  const frequency = options.frequency ?? 440;
  const channels = Array.from({ length: options.channels ?? 1 }, (_, c) => {
    const out = new Float32Array(options.frames);
    const w = (2 * Math.PI * frequency * (c + 1)) / sampleRate;
    for (let i = 0; i < out.length; i++) out[i] = 0.5 * Math.sin(w * i);
    return out;
  });
  return { sampleRate, channels };
}

/** Encodes `pcm` to MP3 with `mp3Encode`, in one chunk. */
export async function encodeMp3(pcm: PcmChunk, options: Mp3EncodeOptions = {}): Promise<Uint8Array> {
  const stage = mp3Encode(options);
  const scope = createContext({ signal: new AbortController().signal });
  const stream = stage.create(scope.for(stage.name), anyPcm);
  const writer = stream.writable.getWriter();
  const parts: Uint8Array[] = [];
  const reading = (async () => {
    const reader = stream.readable.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parts.push(value);
    }
  })();
  await writer.write(pcm);
  await writer.close();
  await reading;
  scope.finish();
  return join(parts);
}

/** A WAV file (44-byte header with true sizes) of `pcm`. */
export function encodeWav(pcm: PcmChunk, encoding: 's16le' | 'f32le' = 's16le'): Uint8Array {
  const data = interleave(pcm, encoding);
  return join([wavHeader({ sampleRate: pcm.sampleRate, channels: pcm.channels.length, encoding, dataBytes: data.byteLength }), data]);
}

/** Joins byte arrays. */
export { join };
