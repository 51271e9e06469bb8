import * as v from 'valibot';
import { parseOptions } from '../options.js';
import { anyBytes, anyPcm, text, type Format, type Kind } from '../format.js';
import { concatPcm, type PcmChunk } from '../pcm/pcm.js';
import type { SinkStage } from '../stage.js';

/** What `collect` gathers, by kind. */
export interface Collected {
  /** Every chunk, as it arrived. */
  chunks: unknown[];
  /** PCM joined into one chunk (pcm runs). */
  pcm?: PcmChunk;
  /** Bytes joined into one array (bytes runs). */
  bytes?: Uint8Array;
  /** Strings as they arrived (text runs). */
  text?: string[];
  /** The format that reached the sink. */
  format: Format;
}

const schema = v.strictObject({
  /** What the sink takes: pcm (default), bytes or text. */
  kind: v.optional(v.picklist(['pcm', 'bytes', 'text']), 'pcm'),
});

export type CollectOptions = v.InferInput<typeof schema>;

const TAKES: Record<Kind, Format> = { pcm: anyPcm, bytes: anyBytes, text };

/**
 * A sink that keeps everything in memory and gives it back as the run's
 * value. Use it in tests, or to render a short utterance to a buffer.
 *
 * ```ts
 * const { value } = await pipeline(source, decode(), collect()).done;
 * value.pcm // one PcmChunk
 * ```
 */
export function collect(options: CollectOptions = {}): SinkStage<unknown, Collected> {
  const kind = parseOptions('collect', schema, options).kind;
  return {
    role: 'sink',
    name: 'collect',
    takes: TAKES[kind],
    spec: { stage: 'collect', options: { kind } },
    open(_ctx, input) {
      const chunks: unknown[] = [];
      return {
        sink: {
          write(chunk) {
            chunks.push(chunk);
          },
        },
        result() {
          const out: Collected = { chunks, format: input };
          if (input.kind === 'pcm') {
            const pcm = chunks as PcmChunk[];
            out.pcm = concatPcm(pcm, input.sampleRate ?? pcm[0]?.sampleRate, input.channels ?? pcm[0]?.channels.length);
          } else if (input.kind === 'bytes') {
            const parts = chunks as Uint8Array[];
            const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
            let offset = 0;
            for (const part of parts) {
              bytes.set(part, offset);
              offset += part.byteLength;
            }
            out.bytes = bytes;
          } else {
            out.text = chunks as string[];
          }
          return out;
        },
      };
    },
  };
}
