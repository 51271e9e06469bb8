// A small stand-in for POST /v1/tts/stream/with-timestamps, for client tests
// that should not depend on a speech engine: answers application/x-ndjson
// lines {"audio":"<base64>"} (pieces of a fixed audio stream) and
// {"words":[…]} (each word sent before the piece its first byte is in),
// with a strong ETag; honours `Range: bytes=N-` over the audio bytes with 206
// and `Content-Range`, sending the words from a second before N again (the
// client must take them once). It can send lines of its own (bad input);
// test/support/fault-proxy.ts drops its connections.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedWord {
  text: string;
  start: number;
  end: number;
  charStart: number;
  charEnd: number;
}

export interface TimestampsServerOptions {
  audio: Uint8Array;
  /** The audio's Content-Type, sent as X-Audio-Content-Type. */
  audioType: string;
  /** Audio bytes per second (to know which piece a word starts in). */
  bytesPerSecond: number;
  words: readonly ServedWord[];
  /** Audio bytes per line (default 2400). */
  pieceBytes?: number;
  /** Send these raw lines instead (each followed by a newline unless `noFinalNewline`), with this Content-Type. */
  raw?: { lines: string[]; contentType?: string; noFinalNewline?: boolean };
}

export interface TimestampsServer {
  url: string;
  /** The Range header of each request (undefined when none), in order. */
  ranges: Array<string | undefined>;
  close(): Promise<void>;
}

const ETAG = '"timestamps-stand-in-1"';

export async function startTimestampsServer(options: TimestampsServerOptions): Promise<TimestampsServer> {
  const ranges: Array<string | undefined> = [];
  const piece = options.pieceBytes ?? 2400;
  const total = options.audio.byteLength;

  function send(res: ServerResponse, start: number): void {
    const lines: string[] = [];
    const from = start / options.bytesPerSecond - (start > 0 ? 1 : 0);
    let w = options.words.findIndex((word) => word.start >= from);
    if (w < 0) w = options.words.length;
    for (let at = start; at < total; at += piece) {
      const end = Math.min(total, at + piece);
      const words: ServedWord[] = [];
      while (w < options.words.length && options.words[w].start * options.bytesPerSecond < end) words.push(options.words[w++]);
      if (words.length > 0) lines.push(JSON.stringify({ words }));
      lines.push(JSON.stringify({ audio: Buffer.from(options.audio.subarray(at, end)).toString('base64') }));
    }
    if (w < options.words.length) lines.push(JSON.stringify({ words: options.words.slice(w) }));
    res.end(lines.map((line) => `${line}\n`).join(''));
  }

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const range = req.headers.range;
      ranges.push(range);
      if (req.method !== 'POST' || req.url !== '/v1/tts/stream/with-timestamps') {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { code: 'not-found', message: 'no such route' } }));
      }
      const headers = { 'x-audio-content-type': options.audioType, 'x-sample-rate': '24000', etag: ETAG };
      if (options.raw) {
        res.writeHead(200, { ...headers, 'content-type': options.raw.contentType ?? 'application/x-ndjson' });
        const text = options.raw.lines.join('\n');
        return void res.end(options.raw.noFinalNewline ? text : `${text}\n`);
      }
      const match = range?.match(/^bytes=(\d+)-$/);
      const start = match && req.headers['if-range'] === ETAG ? Number(match[1]) : 0;
      if (start > 0) {
        res.writeHead(206, { ...headers, 'content-type': 'application/x-ndjson', 'content-range': `bytes ${start}-${total - 1}/${total}` });
      } else {
        res.writeHead(200, { ...headers, 'content-type': 'application/x-ndjson' });
      }
      send(res, start);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
