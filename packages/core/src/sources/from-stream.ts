import { VoxpipeError } from '../errors.js';
import type { Format } from '../format.js';
import type { SourceStage } from '../stage.js';

/**
 * A source from a ReadableStream you already have — an engine's audio, a
 * `fetch` body, another library's stream — so stages can be assembled after
 * it. The stream can be read by one run only.
 *
 * ```ts
 * const body = openSource(assemble(fromStream(response.body!, { kind: 'bytes', container: 'mp3' }), decode())).readable;
 * ```
 */
export function fromStream<T>(stream: ReadableStream<T>, format: Format): SourceStage<T> {
  let opened = false;
  return {
    role: 'source',
    name: 'fromStream',
    gives: format,
    open(ctx) {
      if (opened) throw new VoxpipeError('bad-request', 'fromStream: the stream was already read by another run', { stage: ctx.stage });
      opened = true;
      return stream;
    },
  };
}
