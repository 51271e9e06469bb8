// Helpers for this package's tests (no test framework imports): a tiny WAV
// reader, in-memory PCM sources, open-descriptor checks and fake players.
import { chmod, mkdtemp, readdir, readlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadableStream, type Format, type PcmChunk, type SinkStage, type SourceStage } from '@voxpipe/core';
import { joinBytes as concatBytes } from '@voxpipe/core/testing';

/** What `readWav` finds in a file. */
export interface WavInfo {
  fileSize: number;
  riffSize: number;
  formatTag: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
  dataOffset: number;
  dataSize: number;
  data: Uint8Array;
}

/** Parses a RIFF/WAVE file's chunks (independently of the code under test). */
export function readWav(bytes: Uint8Array): WavInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  const info = { fileSize: bytes.byteLength, riffSize: view.getUint32(4, true) } as WavInfo;
  let at = 12;
  while (at + 8 <= bytes.byteLength) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      info.formatTag = view.getUint16(at + 8, true);
      info.channels = view.getUint16(at + 10, true);
      info.sampleRate = view.getUint32(at + 12, true);
      info.byteRate = view.getUint32(at + 16, true);
      info.blockAlign = view.getUint16(at + 20, true);
      info.bitsPerSample = view.getUint16(at + 22, true);
    } else if (id === 'data') {
      info.dataOffset = at + 8;
      info.dataSize = size;
      info.data = new Uint8Array(bytes.subarray(at + 8, at + 8 + size)); // a plain copy, even from a Buffer
      return info;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}

/** A source that gives the chunks in order; `onChunk(i)` runs as chunk i leaves (e.g. to abort the run there). */
export function pcmSource(
  chunks: readonly PcmChunk[] | ((i: number) => PcmChunk | undefined),
  onChunk?: (i: number) => void,
  format?: Format,
): SourceStage<PcmChunk> {
  const next = typeof chunks === 'function' ? chunks : (i: number) => chunks[i];
  const first = next(0);
  return {
    role: 'source',
    name: 'pcmSource',
    gives: format ?? { kind: 'pcm', sampleRate: first?.sampleRate, channels: first?.channels.length },
    open() {
      let i = 0;
      return new ReadableStream<PcmChunk>(
        {
          pull(controller) {
            const chunk = next(i);
            if (!chunk) return controller.close();
            onChunk?.(i);
            i++;
            controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}

/** s16le bytes of planar PCM, computed the obvious way (the reference the sinks are checked against). */
export function referenceS16(chunk: PcmChunk): Uint8Array {
  const frames = chunk.channels[0]?.length ?? 0;
  const count = chunk.channels.length;
  const out = new Uint8Array(frames * count * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++) {
      const x = Math.max(-1, Math.min(1, chunk.channels[c][i] || 0));
      view.setInt16((i * count + c) * 2, Math.min(32767, Math.round(x * 32768)), true);
    }
  }
  return out;
}

/** How many of this process's descriptors point at `path`; undefined where /proc is missing. */
export async function openDescriptors(path: string): Promise<number | undefined> {
  if (!existsSync('/proc/self/fd')) return undefined;
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    try {
      if ((await readlink(`/proc/self/fd/${fd}`)) === path) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

export async function tempDir(prefix = 'voxpipe-node-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes an executable shell script named `name` into `dir`; returns its path. */
export async function script(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Resolves once `check()` is true, polling between macrotasks; rejects after `limit` polls. */
export async function until(check: () => boolean | Promise<boolean>, limit = 2000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition never became true');
}

export { concatBytes };

/** A byte source that gives `piece` again and again (up to `times`); `onPull(n)` runs before the n-th piece (1-based). */
export function repeatBytes(piece: Uint8Array, times = Infinity, onPull?: (n: number) => void): SourceStage<Uint8Array> {
  return {
    role: 'source',
    name: 'repeatBytes',
    gives: { kind: 'bytes' },
    open: () => {
      let sent = 0;
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (sent >= times) return controller.close();
            sent++;
            onPull?.(sent);
            controller.enqueue(piece);
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}

/** A byte sink whose writes stall until the run is aborted, as one waiting on a stalled device does; `writes()` counts them. */
export function stalledSink(): SinkStage<Uint8Array, undefined> & { writes(): number } {
  let writes = 0;
  return {
    role: 'sink',
    name: 'stalled',
    takes: { kind: 'bytes' },
    writes: () => writes,
    open: (ctx) => ({
      sink: {
        write: () => {
          writes++;
          if (ctx.signal.aborted) return;
          return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        },
      },
      result: () => undefined,
    }),
  };
}
