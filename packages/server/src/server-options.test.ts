// Server options: checked with core's parseOptions, keys gathered from every source.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VoxpipeError } from '@voxpipe/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_MODULE } from './engine-loader.js';
import { engineModuleName, resolveServerOptions } from './server-options.js';

function failure(run: () => unknown): VoxpipeError {
  try {
    run();
  } catch (error) {
    if (error instanceof VoxpipeError) return error;
    throw error;
  }
  throw new Error('expected a VoxpipeError');
}

describe('resolveServerOptions', () => {
  it('fills in the documented defaults', () => {
    const resolved = resolveServerOptions({ env: {}, keys: ['k-0123456789'] });
    expect(resolved.limits).toEqual({
      maxTextChars: 5000,
      maxBodyBytes: 65536,
      requestsPerSecond: 10,
      burst: 20,
      concurrentStreamsPerKey: 16,
      maxConcurrentStreams: 256,
      idleTimeoutMs: 30000,
      headersTimeoutMs: 20000,
      bodyTimeoutMs: 20000,
      authFailures: 20,
      authFailureWindowMs: 60000,
    });
    expect(resolved.origins).toBe('*');
    expect(resolved.engine).toEqual({ load: DEFAULT_ENGINE_MODULE });
    expect(resolved.tokenSecret).toBeUndefined();
    expect(resolved.keys.size).toBe(1);
  });

  it('bad options are bad-request VoxpipeErrors naming the option and what is wrong', () => {
    const limits = failure(() => resolveServerOptions({ env: {}, limits: { maxTextChars: -1 } }));
    expect(limits.code).toBe('bad-request');
    expect(limits.message).toMatch(/limits.*maxTextChars/);
    expect(failure(() => resolveServerOptions({ env: {}, limits: { bodyTimeoutMs: 1.5 } })).message).toMatch(/bodyTimeoutMs: must be a whole number from 100 to 600000/);
    expect(failure(() => resolveServerOptions({ env: {}, limits: { authFailures: 0 } })).message).toMatch(/authFailures: must be from 1 to/);
    expect(failure(() => resolveServerOptions({ env: {}, cors: { origins: ['not a url'] } })).message).toMatch(/cors.*origins/);
    expect(failure(() => resolveServerOptions({ env: {}, tokens: { secret: 'short' } })).message).toMatch(/tokens.*secret: use at least 16 characters/);
    expect(failure(() => resolveServerOptions({ env: { VOXPIPE_TOKEN_SECRET: 'short' } })).message).toMatch(/secret/);
  });

  it('gathers keys from the option, VOXPIPE_API_KEYS and the keys file; none makes a development key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'voxpipe-keys-'));
    try {
      const file = join(dir, 'keys.txt');
      await writeFile(file, '# team keys\nfile-key-0123456789\n\n');
      const { keys } = resolveServerOptions({ keys: ['option-key-0123'], env: { VOXPIPE_API_KEYS: 'env-a-0123, env-b-0123', VOXPIPE_API_KEYS_FILE: file } });
      expect(keys.size).toBe(4);
      for (const key of ['option-key-0123', 'env-a-0123', 'env-b-0123', 'file-key-0123456789']) expect(keys.check(key)).toBeDefined();
      expect(keys.developmentKey).toBeUndefined();
      expect(resolveServerOptions({ env: {} }).keys.developmentKey).toMatch(/^vp_dev_/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a given engine is used as is; otherwise the module named, VOXPIPE_ENGINE_MODULE, or the default', () => {
    const engine = Promise.resolve({} as never);
    expect(resolveServerOptions({ env: {}, engine }).engine).toEqual({ given: engine });
    expect(resolveServerOptions({ env: {}, engine: 'espeak', engineModule: 'my-engine' }).engine).toEqual({ load: 'my-engine' });
    // The loaded engine's factory gets engineOptions (voxpipe serve: a thorough warm-up); a given engine ignores them.
    expect(resolveServerOptions({ env: {}, engineOptions: { warm: 'full' } }).engine).toEqual({ load: DEFAULT_ENGINE_MODULE, options: { warm: 'full' } });
    expect(engineModuleName(undefined, { VOXPIPE_ENGINE_MODULE: 'env-engine' })).toBe('env-engine');
    expect(engineModuleName(undefined, {})).toBe(DEFAULT_ENGINE_MODULE);
  });
});
