import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFromHeaders } from './format-from-headers.js';

const of = (headers: Record<string, string>) => formatFromHeaders(new Headers(headers));

describe('formatFromHeaders', () => {
  it('reads the container from Content-Type', () => {
    expect(of({ 'content-type': 'audio/mpeg' })).toEqual({ kind: 'bytes', container: 'mp3' });
    for (const type of ['audio/wav', 'audio/x-wav', 'audio/wave', 'Audio/WAV']) expect(of({ 'content-type': type })).toEqual({ kind: 'bytes', container: 'wav' });
    expect(of({ 'content-type': 'audio/basic' })).toEqual({ kind: 'bytes', container: 'mulaw' });
    expect(of({ 'content-type': 'audio/PCMA; rate=8000' })).toEqual({ kind: 'bytes', container: 'alaw', sampleRate: 8000 });
  });

  it('reads Ogg by its codecs parameter, Opus and FLAC by their own types, and leaves an Ogg of no named codec to its first page', () => {
    expect(of({ 'content-type': 'audio/ogg; codecs=opus' })).toEqual({ kind: 'bytes', container: 'opus' });
    expect(of({ 'content-type': 'audio/ogg;codecs="Vorbis"' })).toEqual({ kind: 'bytes', container: 'vorbis' });
    expect(of({ 'content-type': 'audio/ogg; codecs=flac' })).toEqual({ kind: 'bytes', container: 'flac' });
    expect(of({ 'content-type': 'audio/opus' })).toEqual({ kind: 'bytes', container: 'opus' });
    for (const type of ['audio/flac', 'audio/x-flac']) expect(of({ 'content-type': type })).toEqual({ kind: 'bytes', container: 'flac' });
    for (const type of ['audio/ogg', 'application/ogg', 'audio/ogg; codecs=speex']) expect(of({ 'content-type': type })).toEqual({ kind: 'bytes', container: 'ogg' });
  });

  it('reads raw PCM as s16le with rate and channels from the parameters, else from X- headers', () => {
    expect(of({ 'content-type': 'audio/L16; rate=24000; channels=1' })).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1 });
    expect(of({ 'content-type': 'audio/pcm;Rate="16000"', 'x-channels': '2' })).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 16000, channels: 2 });
    expect(of({ 'content-type': 'audio/pcm', 'X-Sample-Rate': '22050', 'X-Channels': '1' })).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 22050, channels: 1 });
    expect(of({ 'content-type': 'audio/pcm; rate=48000', 'x-sample-rate': '8000' }).sampleRate).toBe(48000);
  });

  it('leaves out what it cannot tell', () => {
    expect(of({})).toEqual({ kind: 'bytes' });
    expect(of({ 'content-type': 'application/octet-stream', 'x-sample-rate': '24000' })).toEqual({ kind: 'bytes' });
    expect(of({ 'content-type': 'audio/mpeg', 'x-sample-rate': '24000' })).toEqual({ kind: 'bytes', container: 'mp3' });
    expect(of({ 'content-type': 'audio/pcm; rate=fast; channels=-1' })).toEqual({ kind: 'bytes', container: 'pcm', encoding: 's16le' });
  });

  it('takes a plain object too, with any header case', () => {
    expect(formatFromHeaders({ 'Content-Type': 'audio/L16;rate=24000', 'X-Channels': '1' })).toEqual({
      kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1,
    });
  });

  it('property: never throws, and always gives a bytes format whose numbers are positive integers', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (type, rate, channels) => {
        const format = formatFromHeaders({ 'content-type': type, 'x-sample-rate': rate, 'x-channels': channels });
        expect(format.kind).toBe('bytes');
        for (const n of [format.sampleRate, format.channels]) if (n !== undefined) expect(Number.isSafeInteger(n) && n > 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
