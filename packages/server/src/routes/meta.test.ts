// What the server says about itself: health, models, voices, the demo page.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.js';
import { MODELS } from '../catalog.js';
import { engineHost } from '../engine-host.js';
import { errorHandler } from '../middleware/errors.js';
import { toneEngine } from '../testing/tone-engine.js';
import { metaRoutes, type MetaRoutesDeps } from './meta.js';

function appWith(deps: Partial<MetaRoutesDeps> = {}, warnings: string[] = []) {
  const logger = { info() {}, warn: (m: string) => warnings.push(m), error() {} };
  const engines = deps.engines ?? engineHost({ given: toneEngine() });
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(logger));
  app.route('/', metaRoutes({ engines, openStreams: () => 3, logger, loadDemo: async () => undefined, ...deps }));
  return { app, engines };
}

describe('meta routes', () => {
  it('/healthz is 503 while the engine starts, then ok with the engine, rate and open streams', async () => {
    const { app, engines } = appWith();
    const starting = await app.request('/healthz');
    expect(starting.status).toBe(503);
    expect(await starting.json()).toEqual({ ok: false, status: 'starting' });
    await engines.ready();
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: true, engine: 'tone', sampleRate: 24000, openStreams: 3 });
  });

  it('/v1/models lists every model and the default', async () => {
    const body = (await (await appWith().app.request('/v1/models')).json()) as { models: Array<{ id: string; streaming: string; pitch: boolean }>; default: string };
    expect(body.models.map((m) => m.id)).toEqual(MODELS.map((m) => m.id));
    expect(body.models.find((m) => m.id === 'rapid-flash')).toMatchObject({ streaming: 'pseudo-streaming', pitch: true });
    expect(body.default).toBe('rapid-flash');
  });

  it('/v1/voices lists the public names per language the engine speaks, filtered by ?language', async () => {
    const { app } = appWith();
    const all = (await (await app.request('/v1/voices')).json()) as { voices: Array<{ name: string; language: string; engineVoice: string }> };
    expect(new Set(all.voices.map((v) => v.language))).toEqual(new Set(['en-US', 'de-DE']));
    const german = (await (await app.request('/v1/voices?language=DE-de')).json()) as { voices: Array<{ name: string; language: string }> };
    expect(german.voices.length).toBeGreaterThan(0);
    expect(german.voices.every((v) => v.language === 'de-DE')).toBe(true);
    expect(german.voices.map((v) => v.name)).toContain('Peter');
  });

  it('/ is the demo player when built, with its script at /demo.js', async () => {
    const { app } = appWith({ loadDemo: async () => ({ html: '<!doctype html><title>player</title>', js: 'console.log(1)' }) });
    expect(await (await app.request('/')).text()).toContain('<title>player</title>');
    const script = await app.request('/demo.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toBe('console.log(1)');
  });

  it('serves the chunks the demo script loads on demand at /demo-….js, immutable; any other name is a JSON 404', async () => {
    const chunks = { 'demo-mp3-decoder-AB12CD34.js': 'export const mp3 = 1;' };
    const { app } = appWith({ loadDemo: async () => ({ html: '<!doctype html><title>player</title>', js: 'import("./demo-mp3-decoder-AB12CD34.js")', chunks }) });
    const chunk = await app.request('/demo-mp3-decoder-AB12CD34.js');
    expect(chunk.status).toBe(200);
    expect(chunk.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(chunk.headers.get('cache-control')).toContain('immutable');
    expect(await chunk.text()).toBe('export const mp3 = 1;');
    for (const path of ['/demo-other-00000000.js', '/demo-__proto__.js', '/demo-constructor.js']) {
      const missing = await app.request(path);
      expect(missing.status, path).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not-found');
    }
  });

  it('/ is the plain listing when the player is not built (said once) or turned off; /demo.js is then a JSON 404', async () => {
    const warnings: string[] = [];
    const { app } = appWith({}, warnings);
    const page = await (await app.request('/')).text();
    expect(page).toContain('voxpipe TTS server');
    expect(page).toContain('<code>tone</code>');
    expect((await app.request('/demo.js')).status).toBe(404);
    expect(warnings).toEqual(['demo page not built (run the build), serving the plain listing']);
    const off = appWith({ demoPage: false, loadDemo: async () => ({ html: 'player', js: '' }) }).app;
    expect(await (await off.request('/')).text()).toContain('voxpipe TTS server');
    const missing = await off.request('/demo.js');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not-found');
  });
});
