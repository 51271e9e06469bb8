// Hostile clients against the /v1/tts/stream server (in a child process, with
// its default limits and timeouts), over raw sockets on loopback:
//   1. N slow uploads without a key (chunked, 60 KB each, drip-fed 1 KB every 100 ms):
//      server RSS growth (target ≤ 30 MB) and how long until every connection is closed.
//   2. N slow-loris connections (headers that never end): how long until the headers
//      timeout has closed every one, and the RSS growth meanwhile.
//   3. 100 slow uploads with a valid key: the key's stream and rate limits refuse most
//      at once; the admitted ones are cut by the body timeout (408).
//   4. A failed-login flood: wrong keys from one address for 5 s (8 connections at a
//      time): how many got 401 and how many 429, the server's log lines, and whether a
//      valid key from another address is still served.
// Run: npx tsx bench/hostile.ts   (HOSTILE_CONNECTIONS=1000 sets N; HOSTILE_TIMEOUT_MS the server's
// header and body timeouts, default theirs: 20 s)
// Addresses: each phase binds its own loopback address (127.0.0.x), so one phase's failed logins
// do not throttle the next.
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';

const N = Number(process.env.HOSTILE_CONNECTIONS ?? 1000);
const KEY = 'hostile-bench-key-0123456789';
const UPLOAD_BYTES = 60 * 1024;
const DRIP_BYTES = 1024;
const DRIP_MS = 100;
/** A connection still open this long after its phase began is given up on (and counted as such). */
const GIVE_UP_MS = 120_000;

interface Sample {
  rss: number;
  peakRss: number;
  baseRss: number;
  heapUsed: number;
  baseHeap: number;
  openStreams: number;
  logLines: string[];
}

const child: ChildProcess = fork(join(import.meta.dirname, 'support', 'hostile-server.ts'), [], {
  execArgv: ['--import', 'tsx', '--expose-gc'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await new Promise<{ url: string }>((resolve) => child.once('message', (m) => resolve(m as { url: string })));
const port = Number(new URL(ready.url).port);
const ask = <T>(type: string) =>
  new Promise<T>((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send({ type });
  });
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Outcome {
  /** The first response's status, if one came. */
  status: number | undefined;
  /** ms from the phase's start until the connection was closed (or GIVE_UP_MS). */
  closedMs: number;
  /** Body bytes the client had written when it stopped. */
  sent: number;
  givenUp: boolean;
}

/** One raw connection: writes `head`, then `drip()` every `everyMs` until it returns undefined or the connection closes. */
function rawClient(localAddress: string, head: string, drip: (sent: number) => string | undefined, everyMs: number, t0: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let status: number | undefined;
    let received = '';
    let sent = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      finish(true);
    }, GIVE_UP_MS - (performance.now() - t0));
    let done = false;
    const finish = (givenUp: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ status, closedMs: performance.now() - t0, sent, givenUp });
    };
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        const piece = drip(sent);
        if (piece === undefined || socket.destroyed || !socket.writable) return clearInterval(timer);
        sent += Buffer.byteLength(piece);
        socket.write(piece);
      }, everyMs);
    });
    socket.on('data', (chunk: Buffer) => {
      if (status !== undefined) return;
      received += chunk.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (line) status = Number(line[1]);
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(false));
  });
}

const chunked = (size: number) => `${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`;
const uploadHead = (headers: string) => `POST /v1/tts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n${headers}\r\n`;
const dripUpload = (sent: number) => (sent < UPLOAD_BYTES ? chunked(DRIP_BYTES) : undefined);

/** Starts `n` clients, spread over `spreadMs` (so the listen backlog is not what is measured), and waits for all to end. */
async function phase(n: number, spreadMs: number, start: (t0: number) => Promise<Outcome>): Promise<{ outcomes: Outcome[]; server: Sample }> {
  await ask('reset');
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<Outcome>((resolve) => setTimeout(() => start(t0).then(resolve), (i / n) * spreadMs))));
  return { outcomes, server: await ask<Sample>('sample') };
}

function statuses(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(String(o.status ?? 'none'), (counts.get(String(o.status ?? 'none')) ?? 0) + 1);
  return [...counts].sort().map(([status, count]) => `${count}× ${status}`).join(', ');
}

function closing(outcomes: Outcome[]): string {
  const times = outcomes.map((o) => o.closedMs).sort((a, b) => a - b);
  const givenUp = outcomes.filter((o) => o.givenUp).length;
  const median = times[Math.floor(times.length / 2)];
  return `all closed by ${s(times[times.length - 1])} (median ${s(median)})${givenUp ? `; ${givenUp} still open after ${s(GIVE_UP_MS)}, given up` : ''}`;
}

const rssLine = (server: Sample) =>
  `server RSS ${mb(server.baseRss)} → peak ${mb(server.peakRss)} (+${mb(server.peakRss - server.baseRss)}), after ${mb(server.rss)}; heap after GC ${mb(server.baseHeap)} → ${mb(server.heapUsed)}`;

console.log(`# hostile: raw clients on loopback against the server in a child process (default limits; headers and body timeouts ${process.env.HOSTILE_TIMEOUT_MS ?? '20000'} ms)`);

// 1. Slow uploads without a key.
{
  const { outcomes, server } = await phase(N, 1000, (t0) => rawClient('127.0.0.11', uploadHead(''), dripUpload, DRIP_MS, t0));
  const sent = outcomes.reduce((sum, o) => sum + o.sent, 0);
  console.log(`1. ${N} slow uploads without a key (chunked, ${UPLOAD_BYTES / 1024} KB drip-fed ${DRIP_BYTES} B / ${DRIP_MS} ms): ${statuses(outcomes)}; ${closing(outcomes)}`);
  console.log(`   ${rssLine(server)}; body bytes the clients got to write in all: ${(sent / 1024).toFixed(0)} KB of ${((N * UPLOAD_BYTES) / 1024).toFixed(0)} KB; log lines: ${server.logLines.length}`);
}

// 2. Slow-loris: headers that never end.
{
  const { outcomes, server } = await phase(N, 1000, (t0) => rawClient('127.0.0.12', 'POST /v1/tts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n', () => 'X-Slow: still here\r\n', 1000, t0));
  console.log(`2. ${N} slow-loris connections (a header line a second, never ending): ${statuses(outcomes)}; ${closing(outcomes)}`);
  console.log(`   ${rssLine(server)}`);
}

// 3. Slow uploads with a valid key.
{
  const n = 100;
  const { outcomes, server } = await phase(n, 0, (t0) => rawClient('127.0.0.13', uploadHead(`X-API-Key: ${KEY}\r\n`), dripUpload, 500, t0));
  const cut = outcomes.filter((o) => o.status === 408);
  console.log(
    `3. ${n} slow uploads with a valid key (1 KB / 500 ms): ${statuses(outcomes)}; the 408s closed by ${cut.length ? s(Math.max(...cut.map((o) => o.closedMs))) : '—'}; ${closing(outcomes)}`,
  );
  console.log(`   ${rssLine(server)}; streams open after: ${server.openStreams}`);
}

// 4. A failed-login flood from one address, then a valid key from another.
{
  await ask('reset');
  const post = (agent: Agent, key: string) =>
    new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = httpRequest(`${ready.url}/v1/tts/stream`, { method: 'POST', agent, headers: { 'X-API-Key': key, 'Content-Type': 'application/json' } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ text: 'Is the door still open?', model: 'aura-lite' }));
    });
  const flooder = new Agent({ keepAlive: true, localAddress: '127.0.0.14', maxSockets: 8 });
  const counts = new Map<number, number>();
  const until = performance.now() + 5000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      while (performance.now() < until) {
        const { status } = await post(flooder, `wrong-key-${lane}-${sent++}`);
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
    }),
  );
  const sameAddress = await post(flooder, KEY);
  flooder.destroy();
  const elsewhere = new Agent({ keepAlive: false, localAddress: '127.0.0.15' });
  const valid = await post(elsewhere, KEY);
  const server = await ask<Sample>('sample');
  const auth = server.logLines.filter((line) => line.startsWith('auth:'));
  console.log(`4. failed-login flood, 5 s from one address: ${sent} wrong keys → ${[...counts].sort().map(([status, count]) => `${count}× ${status}`).join(', ')}`);
  console.log(`   the valid key from that address meanwhile: ${sameAddress.status}; from another address: ${valid.status} (${valid.bytes} bytes of audio)`);
  console.log(`   server log lines about it: ${auth.length}${auth.length ? ` ("${auth[0]}")` : ''}; ${rssLine(server)}`);
}

child.send({ type: 'close' });
await new Promise((resolve) => child.once('exit', resolve));
