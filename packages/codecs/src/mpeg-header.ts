/** MPEG audio frame headers and ID3v2 tags: just enough to sniff a stream and learn its channel count. */

/** What one MPEG audio frame header says. */
export interface MpegFrameHeader {
  /** 1, 2 or 2.5 */
  version: 1 | 2 | 2.5;
  layer: 1 | 2 | 3;
  sampleRate: number;
  /** kbit/s; 0 for free format. */
  bitrate: number;
  channels: 1 | 2;
  /** Bytes in the frame, header included; 0 when free format (unknown). */
  frameLength: number;
}

const BITRATES: Record<string, number[]> = {
  // index 1..14; [0] = free format
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2-3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = { 1: [44100, 48000, 32000], 2: [22050, 24000, 16000], 2.5: [11025, 12000, 8000] };

/** Reads a frame header at `offset`, or undefined when the 4 bytes there are not a valid one. */
export function readMpegHeader(bytes: Uint8Array, offset = 0): MpegFrameHeader | undefined {
  if (offset + 4 > bytes.byteLength) return undefined;
  const b1 = bytes[offset + 1];
  const b2 = bytes[offset + 2];
  const b3 = bytes[offset + 3];
  if (bytes[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b1 >> 3) & 3;
  const layerBits = (b1 >> 1) & 3;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (versionBits === 1 || layerBits === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  if ((b3 & 3) === 2) return undefined; // reserved emphasis
  const version = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const sampleRate = SAMPLE_RATES[version][rateIndex];
  const bitrate = BITRATES[`${version === 1 ? 1 : 2}-${layer}`][bitrateIndex];
  const padding = (b2 >> 1) & 1;
  let frameLength = 0;
  if (bitrate > 0) {
    if (layer === 1) frameLength = (Math.floor((12 * bitrate * 1000) / sampleRate) + padding) * 4;
    else if (layer === 3 && version !== 1) frameLength = Math.floor((72 * bitrate * 1000) / sampleRate) + padding;
    else frameLength = Math.floor((144 * bitrate * 1000) / sampleRate) + padding;
  }
  return { version, layer, sampleRate, bitrate, channels: b3 >> 6 === 3 ? 1 : 2, frameLength };
}

/**
 * Bytes taken by an ID3v2 tag at `offset` (header, body and footer), 0 when
 * there is none, or -1 when more bytes are needed to tell.
 */
export function id3v2Length(bytes: Uint8Array, offset = 0): number {
  const have = bytes.byteLength - offset;
  const magic = [0x49, 0x44, 0x33]; // "ID3"
  for (let i = 0; i < Math.min(3, have); i++) if (bytes[offset + i] !== magic[i]) return 0;
  if (have < 10) return -1;
  const size = ((bytes[offset + 6] & 0x7f) << 21) | ((bytes[offset + 7] & 0x7f) << 14) | ((bytes[offset + 8] & 0x7f) << 7) | (bytes[offset + 9] & 0x7f);
  const footer = bytes[offset + 5] & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/** Two headers agree when they could belong to one stream. */
export function sameStream(a: MpegFrameHeader, b: MpegFrameHeader): boolean {
  return a.version === b.version && a.layer === b.layer && a.sampleRate === b.sampleRate;
}
