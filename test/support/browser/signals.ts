// Test signals made the same way in Node and in the page, and the measures the
// browser tests apply to what Chromium rendered.

/** A linear chirp from f0 rising k Hz per second, amplitude `amp`, starting at phase π/2 (first sample non-zero). */
export function chirp(frames: number, rate: number, f0 = 200, k = 400, amp = 0.4): Float32Array {
  const out = new Float32Array(frames);
  for (let n = 0; n < frames; n++) {
    const t = n / rate;
    out[n] = amp * Math.cos(2 * Math.PI * (f0 * t + (k * t * t) / 2));
  }
  return out;
}

/** A sine tone starting at phase π/2. */
export function tone(frames: number, rate: number, frequency: number, amp = 0.5): Float32Array {
  const out = new Float32Array(frames);
  for (let n = 0; n < frames; n++) out[n] = amp * Math.cos((2 * Math.PI * frequency * n) / rate);
  return out;
}

/** Pearson correlation of two equal-length signals. */
export function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma;
    const y = b[i] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** The lag (0…maxLag) at which `reference` best lines up inside `signal`, by normalised dot product over `window` samples. */
export function bestLag(signal: Float32Array, reference: Float32Array, maxLag: number, window = 4096): number {
  const w = Math.min(window, reference.length);
  let best = 0;
  let bestScore = -Infinity;
  let rr = 0;
  for (let i = 0; i < w; i++) rr += reference[i] * reference[i];
  for (let lag = 0; lag <= maxLag && lag + w <= signal.length; lag++) {
    let dot = 0;
    let ss = 0;
    for (let i = 0; i < w; i++) {
      dot += signal[lag + i] * reference[i];
      ss += signal[lag + i] * signal[lag + i];
    }
    const score = ss > 0 ? dot / Math.sqrt(ss * rr) : -Infinity;
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  return best;
}

/**
 * The frequency of a steady tone: the DFT magnitude peak on a fine grid
 * around `guess` (Hann window), then refined by parabolic interpolation.
 */
export function toneFrequency(samples: Float32Array, rate: number, guess: number, span = 50, step = 0.25): number {
  const n = samples.length;
  const windowed = new Float64Array(n);
  for (let i = 0; i < n; i++) windowed[i] = samples[i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  const power = (f: number) => {
    let re = 0;
    let im = 0;
    const w = (2 * Math.PI * f) / rate;
    for (let i = 0; i < n; i++) {
      re += windowed[i] * Math.cos(w * i);
      im -= windowed[i] * Math.sin(w * i);
    }
    return re * re + im * im;
  };
  let bestF = guess;
  let bestP = -1;
  for (let f = guess - span; f <= guess + span; f += step) {
    const p = power(f);
    if (p > bestP) {
      bestP = p;
      bestF = f;
    }
  }
  const a = power(bestF - step);
  const c = power(bestF + step);
  const denominator = a - 2 * bestP + c;
  return denominator === 0 ? bestF : bestF + (0.5 * step * (a - c)) / denominator;
}

/**
 * What a worklet sink rendered of its stream: the recording without the silence before the first sample and after
 * the last, and without what each underrun put in. An underrun glides the last sample played, s, to silence over the
 * ramp (s × the raised cosine at k = 1…ramp frames, rounded to float32 as the player writes it; the last one 0), then
 * renders silence until the audio comes back at the start of a later render quantum — as soon as the next one when
 * the main thread, late under load, delivers a burst just after the ring ran dry: the glide and silence then fill
 * exactly that one quantum. Audio that comes back before the glide is over (at a quantum's start) has the glide's tail
 * mixed under its fade-in: those samples are the stream's. The glide is told by its exact values, so no length of
 * silence has to be guessed.
 *
 *   const heard = withoutUnderruns(recording, 120); // 5 ms ramp at 24 kHz
 *   expect(heard.length).toBe(reference.length);
 */
export function withoutUnderruns(recording: Float32Array, rampFrames: number, quantumFrames = 128): Float32Array {
  const fall = (k: number) => (k >= rampFrames ? 0 : 0.5 * (1 + Math.cos((Math.PI * k) / rampFrames)));
  let end = recording.length;
  while (end > 0 && recording[end - 1] === 0) end--;
  const kept: number[] = [];
  let i = recording.findIndex((v) => v !== 0);
  if (i < 0) return new Float32Array(0);
  while (i < end) {
    const s = recording[i];
    kept.push(s);
    let k = 1;
    while (s !== 0 && k <= rampFrames && i + k < recording.length && recording[i + k] === Math.fround(s * fall(k))) k++;
    const glide = k - 1;
    // A glide runs its whole ramp, or is cut where a render quantum ends (the audio came back), or by the recording's end.
    const next = i + glide + 1;
    if (glide > 0 && (glide === rampFrames || next % quantumFrames === 0 || next >= end)) {
      i = next;
      while (i < end && recording[i] === 0) i++;
    } else i++;
  }
  return Float32Array.from(kept);
}

/** Float32 samples to base64 (page → Node) and back. */
export function floatsToBase64(samples: Float32Array): string {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function base64ToFloats(base64: string): Float32Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
