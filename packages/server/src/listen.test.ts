import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bindHttp, KEEP_ALIVE_MS } from './listen.js';

/** GETs `url` through `agent`; resolves with whether the request went out on a reused connection. */
function get(url: string, agent: Agent): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bindHttp', () => {
  it("keeps an idle connection open past Node's 5 s default, so a pooled client's next request reuses it", async () => {
    expect(KEEP_ALIVE_MS).toBeGreaterThan(60_000);
    const bound = await bindHttp(() => new Response('ok'), { port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await get(bound.url, agent)).toEqual({ status: 200, reused: false });
      await new Promise((resolve) => setTimeout(resolve, 6000)); // past Node's default keep-alive of 5 s
      expect(await get(bound.url, agent)).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
      await bound.close();
    }
  });

  it('a port in use is a network error that says so', async () => {
    const first = await bindHttp(() => new Response('ok'), { port: 0 });
    try {
      await expect(bindHttp(() => new Response('ok'), { port: first.port })).rejects.toMatchObject({ code: 'network', message: expect.stringContaining('already in use') });
    } finally {
      await first.close();
    }
  });
});
