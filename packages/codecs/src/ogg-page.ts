/**
 * Ogg pages (RFC 3533): reading the first page's codec, reading packets from
 * a byte stream, writing pages. Small and by hand because it is on the path
 * to first audio: a page's packets are given the moment its last byte
 * arrives (codec-parser, which the WASM decoders use, waits for one byte of
 * the next page).
 */

/** An Ogg page's header fields. */
export interface OggPageHeader {
  /** Bit 0: continued packet; bit 1: first page of a stream (BOS); bit 2: last page (EOS). */
  headerType: number;
  /** Granule position (for Opus: 48 kHz samples, pre-skip included); -1 when no packet ends on the page. */
  granule: bigint;
  serial: number;
  sequence: number;
  /** Bytes from the page's start to its first packet byte (27 + the segment table). */
  headerBytes: number;
  /** The whole page's length, header and body. */
  pageBytes: number;
}

export const CONTINUED = 1;
export const BOS = 2;
export const EOS = 4;

const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
/** The largest page there can be: 27 + 255 + 255 × 255. */
const MAX_PAGE_BYTES = 65307;

/** Whether `bytes` has the Ogg capture pattern at `offset` (as far as it goes). */
export function startsOggPage(bytes: Uint8Array, offset = 0): boolean {
  const n = Math.min(4, bytes.byteLength - offset);
  for (let i = 0; i < n; i++) if (bytes[offset + i] !== CAPTURE[i]) return false;
  return n > 0;
}

/**
 * Reads the header of the Ogg page at `offset`: undefined while the header
 * (not the body) is still incomplete, null when there is no page there.
 */
export function readOggPageHeader(bytes: Uint8Array, offset = 0): OggPageHeader | undefined | null {
  if (!startsOggPage(bytes, offset)) return null;
  if (bytes.byteLength - offset < 27) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  if (view.getUint8(4) !== 0) return null; // stream structure version
  const segments = view.getUint8(26);
  const headerBytes = 27 + segments;
  if (bytes.byteLength - offset < headerBytes) return undefined;
  let body = 0;
  for (let i = 0; i < segments; i++) body += bytes[offset + 27 + i];
  return {
    headerType: view.getUint8(5),
    granule: view.getBigInt64(6, true),
    serial: view.getUint32(14, true),
    sequence: view.getUint32(18, true),
    headerBytes,
    pageBytes: headerBytes + body,
  };
}

/** The codecs an Ogg stream's first packet names. */
export type OggCodec = 'opus' | 'vorbis' | 'flac';

const FIRST_PACKETS: ReadonlyArray<[OggCodec, number[]]> = [
  ['opus', [0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]], // "OpusHead"
  ['vorbis', [0x01, 0x76, 0x6f, 0x72, 0x62, 0x69, 0x73]], // "\x01vorbis"
  ['flac', [0x7f, 0x46, 0x4c, 0x41, 0x43]], // "\x7FFLAC"
];

/**
 * The codec of the Ogg stream whose first page starts `bytes`: undefined
 * while more bytes are needed, 'unknown' for an Ogg page of another codec,
 * null when `bytes` is not an Ogg page.
 */
export function oggCodec(bytes: Uint8Array): OggCodec | 'unknown' | undefined | null {
  const header = readOggPageHeader(bytes);
  if (!header) return header;
  const at = header.headerBytes;
  for (const [codec, magic] of FIRST_PACKETS) {
    let same = true;
    for (let i = 0; i < magic.length && same; i++) {
      if (at + i >= bytes.byteLength) return undefined;
      same = bytes[at + i] === magic[i];
    }
    if (same) return codec;
  }
  return 'unknown';
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** The Ogg CRC-32 (polynomial 0x04C11DB7, no reflection, zero start) of a page whose CRC field is zero. */
export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.byteLength; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc;
}

/** One packet read from an Ogg stream. */
export interface OggPacket {
  data: Uint8Array;
  serial: number;
  /** The page's granule position when the packet is the last one to end on its page, else -1. */
  granule: bigint;
  /** The packet is the first of its stream (on a BOS page). */
  bos: boolean;
  /** The packet is the last of its stream (the last to end on an EOS page). */
  eos: boolean;
}

/**
 * Reads packets from Ogg bytes however they are cut: a page's packets come
 * out as soon as its last byte is in. Pages whose CRC is wrong are dropped,
 * bytes between pages are skipped (both reported in `skipped`), a packet
 * whose first part was lost is dropped.
 */
export class OggPacketReader {
  #buffer: Uint8Array = new Uint8Array(0);
  #partial = new Map<number, Uint8Array[]>();
  /** Bytes skipped or dropped so far (not Ogg pages, or pages with a wrong CRC). */
  skipped = 0;
  /** Bytes in pages read so far. */
  pageBytes = 0;

  push(bytes: Uint8Array): OggPacket[] {
    const buffer = this.#buffer.byteLength ? concat(this.#buffer, bytes) : bytes;
    const out: OggPacket[] = [];
    let offset = 0;
    while (offset < buffer.byteLength) {
      const header = readOggPageHeader(buffer, offset);
      if (header === undefined) break; // a page's header cut short
      if (header === null) {
        const next = findCapture(buffer, offset + 1);
        this.skipped += next - offset;
        offset = next;
        continue;
      }
      if (buffer.byteLength - offset < header.pageBytes) break; // wait for the body
      const page = buffer.subarray(offset, offset + header.pageBytes);
      if (!crcHolds(page)) {
        this.skipped += 1;
        offset++;
        continue;
      }
      this.pageBytes += header.pageBytes;
      this.#readPage(page, header, out);
      offset += header.pageBytes;
    }
    this.#buffer = offset === buffer.byteLength ? new Uint8Array(0) : buffer.slice(offset);
    if (this.#buffer.byteLength > MAX_PAGE_BYTES) {
      // never a page this long: a false capture pattern
      const next = findCapture(this.#buffer, 1);
      this.skipped += next;
      this.#buffer = this.#buffer.slice(next);
    }
    return out;
  }

  /** Bytes held that never became a page (at the end of the input). */
  get pending(): number {
    return this.#buffer.byteLength;
  }

  #readPage(page: Uint8Array, header: OggPageHeader, out: OggPacket[]): void {
    const segments = page[26];
    let parts = this.#partial.get(header.serial);
    this.#partial.delete(header.serial);
    if (!(header.headerType & CONTINUED)) parts = undefined; // an unfinished packet the stream gave up on
    let start = header.headerBytes;
    let length = 0;
    let dropFirst = (header.headerType & CONTINUED) !== 0 && parts === undefined;
    const ended: Uint8Array[] = [];
    for (let i = 0; i < segments; i++) {
      const lace = page[27 + i];
      length += lace;
      if (lace === 255) continue;
      const piece = page.subarray(start, start + length);
      if (dropFirst) dropFirst = false;
      else ended.push(parts ? concat(...parts, piece) : piece.slice());
      parts = undefined;
      start += length;
      length = 0;
    }
    if (length > 0 || (segments > 0 && page[27 + segments - 1] === 255)) {
      const piece = page.slice(start, start + length);
      if (!dropFirst) this.#partial.set(header.serial, parts ? [...parts, piece] : [piece]);
    }
    ended.forEach((data, i) => {
      const last = i === ended.length - 1;
      out.push({ data, serial: header.serial, granule: last ? header.granule : -1n, bos: (header.headerType & BOS) !== 0 && i === 0, eos: (header.headerType & EOS) !== 0 && last });
    });
  }
}

function findCapture(bytes: Uint8Array, from: number): number {
  for (let i = from; i < bytes.byteLength; i++) if (bytes[i] === 0x4f && startsOggPage(bytes, i)) return i;
  return bytes.byteLength;
}

function crcHolds(page: Uint8Array): boolean {
  const stated = new DataView(page.buffer, page.byteOffset + 22, 4).getUint32(0, true);
  const copy = page.slice();
  copy.fill(0, 22, 26);
  return oggCrc(copy) === stated;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** What one page written by `oggPage` holds. */
export interface OggPageInput {
  serial: number;
  sequence: number;
  /** Granule position after the last packet that ends on this page. */
  granule: bigint;
  /** Whole packets (each under 255 × 255 bytes; at most 255 segments in all). */
  packets: Uint8Array[];
  bos?: boolean;
  eos?: boolean;
}

/**
 * Writes one Ogg page of whole packets, CRC included. Use it to mux a stream
 * whose packets are small (an Opus voice stream); packets are not split across pages.
 *
 * ```ts
 * const head = oggPage({ serial, sequence: 0, granule: 0n, packets: [opusHead], bos: true });
 * const audio = oggPage({ serial, sequence: 2, granule: 960n * 5n + 312n, packets: fivePackets });
 * ```
 */
export function oggPage(input: OggPageInput): Uint8Array {
  const lacing: number[] = [];
  for (const packet of input.packets) {
    let left = packet.byteLength;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
  }
  if (lacing.length > 255) throw new RangeError(`An Ogg page holds at most 255 segments; these packets need ${lacing.length}`);
  const headerBytes = 27 + lacing.length;
  const body = input.packets.reduce((n, p) => n + p.byteLength, 0);
  const page = new Uint8Array(headerBytes + body);
  const view = new DataView(page.buffer);
  page.set(CAPTURE);
  view.setUint8(5, (input.bos ? BOS : 0) | (input.eos ? EOS : 0));
  view.setBigInt64(6, input.granule, true);
  view.setUint32(14, input.serial >>> 0, true);
  view.setUint32(18, input.sequence >>> 0, true);
  view.setUint8(26, lacing.length);
  page.set(lacing, 27);
  let at = headerBytes;
  for (const packet of input.packets) {
    page.set(packet, at);
    at += packet.byteLength;
  }
  view.setUint32(22, oggCrc(page), true);
  return page;
}

/**
 * Follows page boundaries in Ogg bytes to tell when a parser that gives a
 * page only once a byte after it has arrived (codec-parser) can give one, so
 * it is not called for nothing byte after byte (costly in the WASM decoders
 * until their stream's headers are in). Bytes that are not pages where one
 * should start make it answer yes from then on.
 */
export class OggPageGate {
  #header: number[] = [];
  #bodyLeft = 0;
  #pageDone = false;
  #lost = false;

  /** Takes the next bytes; whether a whole page has now been followed by at least one byte. */
  push(bytes: Uint8Array): boolean {
    if (this.#lost) return true;
    let open = false;
    let i = 0;
    while (i < bytes.byteLength) {
      if (this.#pageDone) {
        open = true;
        this.#pageDone = false;
      }
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, bytes.byteLength - i);
        this.#bodyLeft -= n;
        i += n;
        if (this.#bodyLeft === 0) this.#pageDone = true;
        continue;
      }
      this.#header.push(bytes[i++]);
      const h = this.#header;
      if (h.length <= 4 && h[h.length - 1] !== CAPTURE[h.length - 1]) {
        this.#lost = true;
        return true;
      }
      if (h.length >= 27 && h.length === 27 + h[26]) {
        for (let k = 27; k < h.length; k++) this.#bodyLeft += h[k];
        this.#header = [];
        if (this.#bodyLeft === 0) this.#pageDone = true;
      }
    }
    return open;
  }
}
