import { Readable, Writable } from 'node:stream';
import { pipeline as nodePipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collect, fromBytes, gain, pipeline, tone, VoxpipeError } from '@voxpipe/core';
import { decode, wavEncode } from '@voxpipe/codecs';
import { bytePartitions } from '@voxpipe/core/testing';
import { toNodeDuplex } from './to-node-duplex.js';
import { concatBytes } from './test-support.js';

const collectInto = (parts: Uint8Array[]) =>
  new Writable({
    write(chunk: Uint8Array, _enc, callback) {
      parts.push(new Uint8Array(chunk));
      callback();
    },
  });

describe('toNodeDuplex', () => {
  it('runs a pipeline segment inside stream.pipeline, for any split of its input', async () => {
    const wav = (await pipeline(tone({ ms: 200 }), wavEncode(), collect({ kind: 'bytes' })).done).value!.bytes!;
    const wavFormat = { kind: 'bytes', container: 'wav' } as const;
    const expected = (await pipeline(fromBytes(wav, { format: wavFormat }), decode(), gain({ db: -6 }), wavEncode(), collect({ kind: 'bytes' })).done).value!.bytes!;
    await fc.assert(
      fc.asyncProperty(bytePartitions(wav), async (parts) => {
        const duplex = toNodeDuplex([decode(), gain({ db: -6 }), wavEncode()], { format: { kind: 'bytes', container: 'wav' } });
        const out: Uint8Array[] = [];
        await nodePipeline(Readable.from(parts.map((p) => Buffer.from(p))), duplex, collectInto(out));
        const got = concatBytes(out);
        expect(got.byteLength).toBe(expected.byteLength);
        expect(Buffer.compare(got, expected)).toBe(0); // (compact failure output)
        expect((await duplex.run.done).outcome).toBe('completed');
      }),
      { numRuns: 15 },
    );
  });

  it('fails the Node pipeline with a typed error on bad input, and destroying it aborts the run', async () => {
    const duplex = toNodeDuplex([decode(), wavEncode()], { format: { kind: 'bytes', container: 'mp3' } });
    const error = await nodePipeline(Readable.from([Buffer.alloc(5000, 7)]), duplex, collectInto([])).catch((e) => e);
    expect(error).toBeInstanceOf(VoxpipeError);
    const idle = toNodeDuplex(wavEncode(), { format: { kind: 'pcm', sampleRate: 24000, channels: 1 } });
    const errors: Error[] = [];
    idle.on('error', (e) => errors.push(e)); // Node's Duplex.from reports a bare destroy() as an AbortError
    idle.destroy();
    expect((await idle.run.done).outcome).toBe('aborted');
    await new Promise((r) => setImmediate(r));
    expect(errors.map((e) => e.name)).toEqual(['AbortError']);
    expect(() => toNodeDuplex([])).toThrow(/toNodeDuplex/);
  });
});
