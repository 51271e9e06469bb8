import type { Container, Format } from '../format.js';

/** Anything headers can be read from: a fetch `Headers`, or a plain object of header names to values. */
export type HeadersLike = { get(name: string): string | null } | Readonly<Record<string, string | undefined>>;

const CONTAINERS: Readonly<Record<string, Container>> = {
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mpeg3': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/pcm': 'pcm',
  'audio/l16': 'pcm',
  'audio/raw': 'pcm',
  'audio/basic': 'mulaw',
  'audio/pcmu': 'mulaw',
  'audio/pcma': 'alaw',
  'audio/opus': 'opus',
  'audio/ogg': 'ogg',
  'application/ogg': 'ogg',
  'audio/vorbis': 'vorbis',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
};

/** What an Ogg type's `codecs=` parameter names. */
const OGG_CODECS: Readonly<Record<string, Container>> = { opus: 'opus', vorbis: 'vorbis', flac: 'flac' };

/** Containers whose bytes carry no header of their own, so rate and channels can only come from HTTP headers. */
const RAW: ReadonlySet<Container> = new Set(['pcm', 'mulaw', 'alaw']);

/**
 * What a response's headers say about its audio, as a bytes `Format`.
 * `Content-Type` gives the container (audio/mpeg → mp3, audio/wav, audio/x-wav,
 * audio/wave → wav, audio/pcm and audio/L16 → pcm s16le, audio/basic and
 * audio/PCMU → mulaw, audio/PCMA → alaw, audio/opus → opus (Ogg Opus), audio/flac and
 * audio/x-flac → flac, audio/ogg → opus, vorbis or flac as its `codecs=` parameter says,
 * else ogg: the first page tells). For raw containers the rate and
 * channels come from the type's `rate=` / `channels=` parameters, else from
 * `X-Sample-Rate` / `X-Channels`. Anything else is left unknown.
 * (RFC 2586 makes audio/L16 big-endian; it is read as s16le here, the byte
 * order of the product's int16 PCM stream — check a server that follows the RFC.)
 *
 * ```ts
 * formatFromHeaders(new Headers({ 'content-type': 'audio/L16; rate=24000; channels=1' }));
 * // { kind: 'bytes', container: 'pcm', encoding: 's16le', sampleRate: 24000, channels: 1 }
 * ```
 */
export function formatFromHeaders(headers: HeadersLike): Format {
  const get = (name: string): string | undefined => {
    if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
    const record = headers as Readonly<Record<string, string | undefined>>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : record[key];
  };
  const [type = '', ...rest] = (get('content-type') ?? '').split(';');
  const params = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  const format: Format = { kind: 'bytes' };
  let container = CONTAINERS[type.trim().toLowerCase()];
  if (!container) return format;
  if (container === 'ogg') container = OGG_CODECS[(params.get('codecs') ?? '').toLowerCase()] ?? 'ogg';
  format.container = container;
  if (!RAW.has(container)) return format;
  if (container === 'pcm') format.encoding = 's16le';
  const sampleRate = positiveInteger(params.get('rate') ?? get('x-sample-rate'));
  if (sampleRate !== undefined) format.sampleRate = sampleRate;
  const channels = positiveInteger(params.get('channels') ?? get('x-channels'));
  if (channels !== undefined) format.channels = channels;
  return format;
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}
