import { open, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseOptions, ReadableStream, type Container, type Format, type SourceStage } from '@voxpipe/core';
import * as v from 'valibot';
import { fileError } from './io.js';

const schema = v.strictObject({
  /** The file to read. */
  path: v.pipe(v.string(), v.minLength(1)),
  /** Bytes per chunk. */
  chunkSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16 * 1024 * 1024)), 64 * 1024),
  /** For raw PCM files (.raw, .pcm), what the extension cannot say. */
  encoding: v.optional(v.picklist(['s16le', 'f32le'])),
  sampleRate: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1000), v.maxValue(384000))),
  channels: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(32))),
});

export type FileSourceOptions = v.InferInput<typeof schema>;

const CONTAINERS: Record<string, Container> = {
  '.mp3': 'mp3',
  '.wav': 'wav',
  '.wave': 'wav',
  '.raw': 'pcm',
  '.pcm': 'pcm',
  '.ulaw': 'mulaw',
  '.mulaw': 'mulaw',
  '.alaw': 'alaw',
  '.opus': 'opus',
  '.ogg': 'ogg',
  '.oga': 'ogg',
  '.flac': 'flac',
};

/** The format a file's extension declares: `.mp3`, `.wav`, `.raw`/`.pcm`, `.ulaw`, `.alaw`, `.opus`, `.ogg`/`.oga`, `.flac`; plain bytes otherwise. */
export function formatFromPath(path: string): Format {
  const container = CONTAINERS[extname(path).toLowerCase()];
  return container ? { kind: 'bytes', container } : { kind: 'bytes' };
}

/**
 * A source that reads a file as bytes, a chunk at a time as the pipeline
 * asks (so a slow sink never makes it read ahead), and declares its format
 * from the extension so `decode()` knows what it has. Aborting the run, or
 * a sink giving up, closes the file at once. A missing or unreadable file
 * fails the run with a `bad-request` error naming the path.
 *
 * ```ts
 * await pipeline(fileSource('hello.mp3'), decode(), play()).done;
 * await pipeline(fileSource({ path: 'call.raw', sampleRate: 8000 }), pcmDecode(), wavFile('call.wav')).done;
 * ```
 */
export function fileSource(path: string, options?: Omit<FileSourceOptions, 'path'>): SourceStage<Uint8Array>;
export function fileSource(options: FileSourceOptions): SourceStage<Uint8Array>;
export function fileSource(pathOrOptions: string | FileSourceOptions, options: Omit<FileSourceOptions, 'path'> = {}): SourceStage<Uint8Array> {
  const input = typeof pathOrOptions === 'string' ? { ...options, path: pathOrOptions } : pathOrOptions;
  const o = parseOptions('fileSource', schema, input);
  const format: Format = { ...formatFromPath(o.path) };
  if (format.container === 'pcm') {
    if (o.encoding) format.encoding = o.encoding;
    if (o.sampleRate) format.sampleRate = o.sampleRate;
    if (o.channels) format.channels = o.channels;
  }
  return {
    role: 'source',
    name: 'fileSource',
    gives: format,
    spec: { stage: 'fileSource', options: { ...o } },
    open(ctx) {
      ctx.declare(format);
      let handle: FileHandle | undefined;
      let closed = false;
      let position = 0;
      const closeFile = async () => {
        closed = true;
        const h = handle;
        handle = undefined;
        await h?.close();
      };
      ctx.defer(() => void closeFile().catch(() => {}));
      return new ReadableStream<Uint8Array>(
        {
          async start() {
            try {
              handle = await open(o.path, 'r');
            } catch (error) {
              throw fileError(error, 'fileSource', o.path, 'open');
            }
            if (closed) await closeFile(); // cancelled while opening
          },
          async pull(controller) {
            if (!handle) return;
            const buffer = new Uint8Array(o.chunkSize);
            let bytesRead: number;
            try {
              ({ bytesRead } = await handle.read(buffer, 0, o.chunkSize, position));
            } catch (error) {
              if (closed) return;
              await closeFile().catch(() => {});
              throw fileError(error, 'fileSource', o.path, 'read');
            }
            if (closed) return;
            if (bytesRead === 0) {
              await closeFile();
              controller.close();
              return;
            }
            position += bytesRead;
            ctx.mark('first-byte');
            ctx.count('bytes', bytesRead);
            controller.enqueue(bytesRead === o.chunkSize ? buffer : buffer.slice(0, bytesRead));
          },
          async cancel() {
            await closeFile();
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
