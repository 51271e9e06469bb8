// A client in a process of its own for bench/server.ts: POSTs one body `n` times in a row, each on a new
// connection, reads each answer to its end and prints the times to first body byte (ms) as a JSON array.
// Run by the bench: node --import tsx ttfb-client.ts '{"url":…,"key":…,"body":{…},"n":20}'
import { request as httpRequest } from 'node:http';

const { url, key, body, n } = JSON.parse(process.argv[2]) as { url: string; key: string; body: object; n: number };

function firstByteMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = NaN;
    const req = httpRequest(`${url}/v1/tts/stream`, { method: 'POST', agent: false, headers: { 'X-API-Key': key, 'Content-Type': 'application/json' } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (Number.isNaN(first) && chunk.byteLength > 0) first = performance.now() - start;
      });
      res.on('end', () => resolve(first));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const times: number[] = [];
for (let i = 0; i < n; i++) times.push(await firstByteMs());
process.stdout.write(JSON.stringify(times));
