// Browser bundle budgets, measured by size-limit with esbuild (minified ES
// modules for browsers, gzipped): `npx size-limit` prints them, and
// test/bundle-size.test.ts runs it and checks the budgets and what each
// bundle holds. A size counts what a page loads before its first audio:
// whatever a bundle loads with import() (the streams ponyfill, the decoders)
// comes in a chunk of its own, only when needed, and is left out here; the
// MP3 decoder's chunk has a line of its own.

/** esbuild as the browser sees it: ES modules, browser resolution, every import() left as a separate fetch. */
export function forBrowsers(config) {
  return {
    ...config,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    plugins: [...(config.plugins ?? []), loadedOnDemand],
  };
}

/** Leaves every dynamic import out of the bundle: what it loads is fetched later, on demand. */
const loadedOnDemand = {
  name: 'loaded-on-demand',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};

// Budgets: the PCM player's target (15 kB), the others the figures of 2026-11-30 with a
// little room; the MP3 player may load at most 5 kB more than the PCM player before its
// first MP3 byte (test/bundle-size.test.ts checks the difference).
export default [
  { name: 'PCM player (pipeline, ttsSource, audioWorkletSink, unlock)', path: 'packages/browser/size/pcm-player.ts', limit: '15 kB', gzip: true, modifyEsbuildConfig: forBrowsers },
  { name: 'MP3 player before the first MP3 byte (the PCM player + decode)', path: 'packages/browser/size/mp3-player.ts', limit: '20 kB', gzip: true, modifyEsbuildConfig: forBrowsers },
  { name: 'MP3 decoder, fetched on demand (mpg123-decoder and its glue)', path: 'packages/codecs/src/mp3-decoder.ts', ignore: ['@voxpipe/core'], gzip: true, modifyEsbuildConfig: forBrowsers },
  { name: "Demo page (the server's /) before its first audio", path: 'packages/browser/demo/demo.ts', limit: '22 kB', gzip: true, modifyEsbuildConfig: forBrowsers },
];
