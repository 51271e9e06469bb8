import { id3v2Length, readMpegHeader, sameStream } from './mpeg-header.js';
import { oggCodec } from './ogg-page.js';

/** What the first bytes of a stream look like (`ogg`: an Ogg stream of a codec not decoded here). */
export type Sniffed = 'mp3' | 'wav' | 'pcm' | 'opus' | 'vorbis' | 'flac' | 'ogg';

const RIFF = [0x52, 0x49, 0x46, 0x46];
const RF64 = [0x52, 0x46, 0x36, 0x34];
const WAVE = [0x57, 0x41, 0x56, 0x45];
const FLAC = [0x66, 0x4c, 0x61, 0x43]; // "fLaC"

function startsWith(bytes: Uint8Array, magic: number[], offset = 0): boolean {
  const n = Math.min(magic.length, bytes.byteLength - offset);
  for (let i = 0; i < n; i++) if (bytes[offset + i] !== magic[i]) return false;
  return true;
}

/**
 * Tells MP3 (an ID3v2 tag, or an MPEG frame header that the next frame's
 * header confirms), WAV (RIFF/RF64 … WAVE), FLAC (`fLaC`), Ogg Opus, Ogg
 * Vorbis and Ogg FLAC (by the first page's first packet) and anything else
 * (raw PCM) from a stream's first bytes. Returns undefined while more bytes
 * are needed to decide (never more than one MPEG frame and four bytes, or an
 * Ogg page header and 8 bytes); `ended` forces a decision on what there is.
 */
export function sniffContainer(bytes: Uint8Array, ended: boolean): Sniffed | undefined {
  const n = bytes.byteLength;
  if (n === 0) return ended ? 'pcm' : undefined;
  if (startsWith(bytes, FLAC)) return n < 4 ? (ended ? 'pcm' : undefined) : 'flac';
  const ogg = oggCodec(bytes);
  if (ogg !== null) return ogg === undefined ? (ended ? 'pcm' : undefined) : ogg === 'unknown' ? 'ogg' : ogg;
  if (startsWith(bytes, RIFF) || startsWith(bytes, RF64)) {
    if (n < 12) return ended ? 'pcm' : undefined;
    return startsWith(bytes, WAVE, 8) ? 'wav' : 'pcm';
  }
  const id3 = id3v2Length(bytes);
  if (id3 > 0) return 'mp3';
  if (id3 < 0) return ended ? 'pcm' : undefined;
  if (bytes[0] === 0xff) {
    if (n < 4) return ended ? 'pcm' : (n < 2 || (bytes[1] & 0xe0) === 0xe0) ? undefined : 'pcm';
    const header = readMpegHeader(bytes);
    if (!header) return 'pcm';
    if (header.frameLength === 0) return 'mp3'; // free format
    if (n < header.frameLength + 4) return ended ? 'mp3' : undefined;
    const next = readMpegHeader(bytes, header.frameLength);
    return next && sameStream(header, next) ? 'mp3' : 'pcm';
  }
  return 'pcm';
}
