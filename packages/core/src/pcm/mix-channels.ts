/**
 * The one channel mapping voxpipe uses (the `mix` stage, `speak`, the
 * browser sink), from M planar channels to N, with no speaker layout assumed:
 * M = N unchanged; M < N (up-mix) output k copies input k mod M; M > N
 * (down-mix) output k averages the inputs j with j mod N = k, so it never
 * clips. Output arrays may be the input's own where nothing changes.
 * `spare`, an earlier output of the same M → N mix that no one reads any
 * more, lends the arrays this call made then (never the input's own) to
 * write into instead of allocating.
 *
 * ```ts
 * const [mono] = mixChannels([left, right], 1); // (L + R) / 2
 * ```
 */
export function mixChannels(input: readonly Float32Array[], n: number, spare?: readonly Float32Array[]): Float32Array[] {
  const m = input.length;
  const frames = input[0]?.length ?? 0;
  if (m === n) return input.slice();
  const out: Float32Array[] = [];
  if (m < n) {
    // a plain loop: this runs on every chunk of an up-mixing stream
    for (let k = 0; k < n; k++) out.push(k < m ? input[k] : copy(input[k % m], spare?.[k]));
    return out;
  }
  for (let k = 0; k < n; k++) {
    const sources: Float32Array[] = [];
    for (let j = k; j < m; j += n) sources.push(input[j]);
    const scale = 1 / sources.length;
    const mixed = spare?.[k]?.length === frames ? spare[k] : new Float32Array(frames);
    // Sum in double precision, so the average is rounded to float32 once.
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (const x of sources) sum += x[i];
      mixed[i] = sources.length === 1 ? sum : sum * scale;
    }
    out.push(mixed);
  }
  return out;
}

/** `samples` copied into `into` when it has their length, else into a fresh array. */
function copy(samples: Float32Array, into: Float32Array | undefined): Float32Array {
  if (into === undefined || into.length !== samples.length) return samples.slice();
  into.set(samples);
  return into;
}
