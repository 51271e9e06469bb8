import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const index = fileURLToPath(new URL('./index.ts', import.meta.url));

/** Bundles `source` for a browser page as its bundler would: every import() a chunk of its own. */
async function bundle(source: string): Promise<Metafile> {
  const result = await build({
    stdin: { contents: source, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    metafile: true,
    outdir: 'out',
    logLevel: 'silent',
  });
  return result.metafile;
}

/** The outputs the entry loads at once (itself and its static imports, transitively). */
function loadedAtOnce(meta: Metafile): Set<string> {
  const entry = Object.keys(meta.outputs).find((out) => meta.outputs[out].entryPoint !== undefined)!;
  const seen = new Set<string>();
  const visit = (out: string) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of meta.outputs[out].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  return seen;
}

const DECODERS: Record<string, RegExp> = {
  mp3: /mpg123-decoder/,
  opus: /opus-decoder\/|codecs\/src\/opus-decoder/,
  flac: /@wasm-audio-decoders\/flac/,
  vorbis: /@wasm-audio-decoders\/ogg-vorbis/,
};

describe('decoders loaded on demand, as a bundler splits them', () => {
  it('a page that plays PCM with decode() loads no decoder at once; each decoder is a chunk of its own', async () => {
    const meta = await bundle(`export { decode } from ${JSON.stringify(index)};`);
    const atOnce = loadedAtOnce(meta);
    const inputsAtOnce = [...atOnce].flatMap((out) => Object.keys(meta.outputs[out].inputs));
    for (const [codec, pattern] of Object.entries(DECODERS)) {
      expect(inputsAtOnce.filter((input) => pattern.test(input)), codec).toEqual([]);
      // the decoder is in the bundle, in a chunk reached by import() only
      const chunks = Object.keys(meta.outputs).filter((out) => Object.keys(meta.outputs[out].inputs).some((input) => pattern.test(input)));
      expect(chunks.length, codec).toBeGreaterThan(0);
      for (const chunk of chunks) expect(atOnce.has(chunk), codec).toBe(false);
    }
    // and no chunk holds two codecs' decoders
    for (const out of Object.keys(meta.outputs)) {
      const inputs = Object.keys(meta.outputs[out].inputs);
      const codecs = Object.entries(DECODERS).filter(([, pattern]) => inputs.some((input) => pattern.test(input)));
      expect(codecs.length, out).toBeLessThanOrEqual(1);
    }
  });
});
