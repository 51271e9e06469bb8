/** The three things that flow through voxpipe. */
export type Kind = 'bytes' | 'pcm' | 'text';

/**
 * Byte containers voxpipe knows by name. `pcm` is raw interleaved samples;
 * `opus` and `vorbis` are those codecs in Ogg; `flac` is native or Ogg FLAC;
 * `ogg` is Ogg whose codec its first page tells.
 */
export type Container = 'mp3' | 'wav' | 'pcm' | 'mulaw' | 'alaw' | 'opus' | 'vorbis' | 'flac' | 'ogg';

/** Raw sample encodings of `pcm` bytes. */
export type SampleEncoding = 's16le' | 'f32le';

/**
 * What a stage takes or gives. Only `kind` is required; every other field is
 * a fact when known and a constraint when a stage takes it. Unknown fields
 * (left out) are settled at run time, e.g. from a response's Content-Type.
 */
export interface Format {
  kind: Kind;
  container?: Container;
  encoding?: SampleEncoding;
  sampleRate?: number;
  channels?: number;
}

/** Bytes, format unknown until the source declares it. */
export const anyBytes: Format = Object.freeze({ kind: 'bytes' });
/** PCM at any rate and channel count. */
export const anyPcm: Format = Object.freeze({ kind: 'pcm' });
/** A stream of strings. */
export const text: Format = Object.freeze({ kind: 'text' });

const FIELDS = ['container', 'encoding', 'sampleRate', 'channels'] as const;

/**
 * Where `given` cannot feed a stage that `takes`, the first field that
 * disagrees; `undefined` when they fit. A field unknown on either side fits.
 */
export function formatMismatch(given: Format, takes: Format): string | undefined {
  if (given.kind !== takes.kind) return 'kind';
  for (const field of FIELDS) {
    const a = given[field];
    const b = takes[field];
    if (a !== undefined && b !== undefined && a !== b) return field;
  }
  return undefined;
}

/** Short human form: `pcm 24000 Hz mono`, `bytes mp3`, `text`. */
export function describeFormat(format: Format): string {
  const parts: string[] = [format.kind];
  if (format.container) parts.push(format.container);
  if (format.encoding) parts.push(format.encoding);
  if (format.sampleRate) parts.push(`${format.sampleRate} Hz`);
  if (format.channels) parts.push(format.channels === 1 ? 'mono' : format.channels === 2 ? 'stereo' : `${format.channels} ch`);
  return parts.join(' ');
}

/** `given` with every field that `update` knows written over it. */
export function refineFormat(given: Format, update: Partial<Format>): Format {
  const out: Format = { ...given };
  for (const [key, value] of Object.entries(update)) {
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
