import type { Format } from '../format.js';
import type { SourceStage } from '../stage.js';
import { ReadableStream } from '../streams.js';

/**
 * A source that plays back bytes already in memory, optionally in pieces of
 * `chunkSize` bytes (to test how stages handle arbitrary chunking).
 *
 * ```ts
 * pipeline(fromBytes(mp3Bytes, { format: { kind: 'bytes', container: 'mp3' } }), decode(), collect());
 * ```
 */
export function fromBytes(
  bytes: Uint8Array | readonly Uint8Array[],
  options: { format?: Format; chunkSize?: number } = {},
): SourceStage<Uint8Array> {
  const format = options.format ?? { kind: 'bytes' };
  const pieces = bytes instanceof Uint8Array ? split(bytes, options.chunkSize ?? 16384) : [...bytes];
  return {
    role: 'source',
    name: 'fromBytes',
    gives: format,
    open(ctx) {
      ctx.declare(format);
      let index = 0;
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (index >= pieces.length) return controller.close();
            const piece = pieces[index++];
            ctx.mark('first-byte');
            ctx.count('bytes', piece.byteLength);
            controller.enqueue(piece);
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const step = Math.max(1, Math.floor(size));
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += step) out.push(bytes.subarray(i, i + step));
  return out;
}
