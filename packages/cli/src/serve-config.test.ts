import { describe, expect, it } from 'vitest';
import { flagOf, LIMIT_NAMES, limitFlags, serveSettings } from './serve-config.js';

const files = (contents: Record<string, string>) => (path: string) => {
  if (!(path in contents)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return contents[path];
};

describe('serveSettings', () => {
  it('defaults: port 8787 on 127.0.0.1, no trusted proxy, the server’s own limits', () => {
    expect(serveSettings({})).toEqual({ port: 8787, host: '127.0.0.1', keys: undefined, keysFile: undefined, corsOrigins: undefined, trustProxy: false, limits: {}, cacheBytes: 64 * 1024 * 1024, drainMs: 10_000 });
  });

  it('takes Redis, the cache, the metrics and the drain from the file and the flags, checked', () => {
    const read = files({ 'ops.json': JSON.stringify({ redis: 'redis://cache.internal:6379', cacheBytes: 1000, metricsPort: 9464, drainMs: 5000 }) });
    expect(serveSettings({ config: 'ops.json', redisWhenDown: 'refuse', metricsToken: 'metrics-token-0123456789', drainMs: '20000' }, read)).toMatchObject({
      redis: 'redis://cache.internal:6379',
      redisWhenDown: 'refuse',
      cacheBytes: 1000,
      metricsToken: 'metrics-token-0123456789',
      metricsPort: 9464,
      drainMs: 20_000,
    });
    expect(serveSettings({ cacheBytes: '0' }).cacheBytes).toBe(0);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ redis: 'http://cache:6379' }, /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ redisWhenDown: 'maybe' }, /--redis-when-down must be local or refuse/],
      [{ cacheBytes: '-1' }, /--cache-bytes must be a whole number/],
      [{ metricsToken: 'short' }, /--metrics-token must be at least 16 characters/],
      [{ metricsPort: '70000' }, /--metrics-port must be a whole number from 0 to 65535/],
      [{ drainMs: '1.5' }, /--drain-ms must be a whole number/],
    ];
    for (const [flags, said] of bad) expect(() => serveSettings(flags)).toThrow(said);
  });

  it('every limit has a flag (its name in kebab case) whose help shows the default', () => {
    const flags = limitFlags();
    expect(flags.map(([flag]) => flag)).toEqual(LIMIT_NAMES.map((name) => `--${flagOf(name)} <n>`));
    expect(flags.find(([flag]) => flag.startsWith('--max-body-bytes'))?.[1]).toMatch(/\(default 65536\)$/);
    expect(LIMIT_NAMES).toEqual(expect.arrayContaining(['headersTimeoutMs', 'bodyTimeoutMs', 'authFailures', 'authFailureWindowMs', 'idleTimeoutMs']));
  });

  it('reads the config file, and flags win over it', () => {
    const read = files({
      'serve.json': JSON.stringify({
        port: 9000,
        host: '0.0.0.0',
        keys: ['a-key-0123456789'],
        keysFile: '/etc/voxpipe/keys',
        corsOrigins: ['https://app.example', 'http://localhost:5173/'],
        trustProxy: true,
        limits: { burst: 5, maxBodyBytes: 1000 },
      }),
    });
    expect(serveSettings({ config: 'serve.json' }, read)).toEqual({
      port: 9000,
      host: '0.0.0.0',
      keys: ['a-key-0123456789'],
      keysFile: '/etc/voxpipe/keys',
      corsOrigins: ['https://app.example', 'http://localhost:5173'],
      trustProxy: true,
      limits: { burst: 5, maxBodyBytes: 1000 },
      cacheBytes: 64 * 1024 * 1024,
      drainMs: 10_000,
    });
    const overridden = serveSettings({ config: 'serve.json', port: 0, keys: 'b-key,c-key', corsOrigins: '*', maxBodyBytes: 500, authFailures: 3 }, read);
    expect(overridden).toMatchObject({ port: 0, keys: ['b-key', 'c-key'], corsOrigins: '*', limits: { burst: 5, maxBodyBytes: 500, authFailures: 3 } });
  });

  it('a bad flag value is a usage error naming the flag and the rule', () => {
    expect(() => serveSettings({ burst: 0 })).toThrow('--burst must be from 1 to 1000000000, not 0');
    expect(() => serveSettings({ bodyTimeoutMs: 1.5 })).toThrow('--body-timeout-ms must be a whole number from 100 to 600000, not 1.5');
    expect(() => serveSettings({ maxBodyBytes: 'lots' })).toThrow('--max-body-bytes must be a number, not "lots"');
    expect(() => serveSettings({ headersTimeoutMs: true })).toThrow('--headers-timeout-ms needs a value');
    expect(() => serveSettings({ port: 70000 })).toThrow('--port must be a whole number from 0 to 65535, not 70000');
    expect(() => serveSettings({ corsOrigins: 'https://app.example/page' })).toThrow(/--cors-origins: "https:\/\/app.example\/page" is not an origin/);
    expect(() => serveSettings({ host: ['a', 'b'] })).toThrow('--host is given more than once');
  });

  it('a bad config file is a usage error naming the file and the setting', () => {
    const read = files({ 'bad.json': '{"limits": {"burst": 0}}', 'typo.json': '{"limits": {"bursts": 3}}', 'extra.json': '{"ports": 1}', 'broken.json': '{"port": ', 'list.json': '[]', 'cors.json': '{"corsOrigins": "nope"}', 'proxy.json': '{"trustProxy": "yes"}' });
    expect(() => serveSettings({ config: 'bad.json' }, read)).toThrow('--config bad.json: limits.burst must be from 1 to 1000000000, not 0');
    expect(() => serveSettings({ config: 'typo.json' }, read)).toThrow(/--config typo.json: limits: unknown limit "bursts"; the limits are maxTextChars, /);
    expect(() => serveSettings({ config: 'extra.json' }, read)).toThrow(/--config extra.json: unknown setting "ports"; the settings are port, host, /);
    expect(() => serveSettings({ config: 'broken.json' }, read)).toThrow(/^--config broken.json is not valid JSON: /);
    expect(() => serveSettings({ config: 'list.json' }, read)).toThrow(/--config list.json must hold a JSON object/);
    expect(() => serveSettings({ config: 'cors.json' }, read)).toThrow(/corsOrigins must be "\*" or a list of origins/);
    expect(() => serveSettings({ config: 'proxy.json' }, read)).toThrow('--config proxy.json: trustProxy must be true or false');
    expect(() => serveSettings({ config: 'missing.json' }, read)).toThrow('--config missing.json: cannot read it (ENOENT)');
  });
});
