// The espeak synthesis worker: one eSpeak NG wasm instance per thread.
// Plain JavaScript on purpose, so `new Worker(url)` loads it the same way
// under Node, tsx and vitest (no TypeScript loader inside the worker).
//
// Protocol (mirrored by the types in protocol.ts):
//   workerData: { flag: SharedArrayBuffer /* Int32Array[1]: id of the job to stop */, warm: boolean }
//   in:  { type: 'job', id, text, voice /* espeak name */, rate, pitch, skipFrames?, test? }
//   out: { type: 'ready', loadMs, warmMs }
//        { type: 'chunk', id, samples /* Float32Array, buffer transferred */ }
//        { type: 'done', id, stopped /* true when cancelled part-way */, frames }
//        { type: 'failed', id, message }
//
// A job runs synchronously inside espeak; the thread cannot read messages
// meanwhile, so cancellation goes through the shared flag, which the audio
// callback reads before every ~100 ms piece (returning true stops espeak).
//
// Determinism: espeak keeps state between utterances (wave phase, echo
// buffers…), so the same text would not give the same samples twice. The
// worker snapshots the wasm heap once after start-up and restores it before
// every job (right after the previous one), so each job starts from the
// identical state on any worker.
// Two more things keep that snapshot honest:
// - espeak seeds its random state from the clock at start-up, so this
//   thread's Date.now is pinned to a constant (the thread runs nothing else);
// - the WebIDL glue keeps its string buffers in JS variables that a heap
//   restore would not roll back, so the text is copied into the restored heap
//   with _malloc and passed by pointer; voice names are short enough for the
//   glue's 128-byte buffer, which is allocated before the snapshot.

import { parentPort, workerData } from 'node:worker_threads';
import createEspeak from '@echogarden/espeak-ng-emscripten';

/** @type {{ flag: SharedArrayBuffer, warm: boolean }} */
const { flag: flagBuffer, warm } = workerData;
const flag = new Int32Array(flagBuffer);
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

const FIXED_NOW = Date.UTC(2024, 0, 1);
Date.now = () => FIXED_NOW;

const loadStart = performance.now();
const module = await createEspeak();
const espeak = new module.eSpeakNGWorker();
espeak.set_voice('en-us');
/** @type {Uint8Array} */
const snapshot = module.HEAPU8.slice();
const loadMs = performance.now() - loadStart;

const encoder = new TextEncoder();

function restore() {
  const heap = /** @type {Uint8Array} */ (module.HEAPU8);
  heap.set(snapshot);
  if (heap.length > snapshot.length) heap.fill(0, snapshot.length);
}

/**
 * @param {{ id: number, text: string, voice: string, rate: number, pitch: number, skipFrames?: number,
 *           test?: { crashAfterChunks?: number, pauseAfterChunks?: number, throwAfterChunks?: number } }} job
 */
function run(job) {
  const test = job.test ?? {};
  let chunks = 0;
  let frames = 0;
  let stopped = false;
  // Remaking a segment: the first skipFrames frames were sent before (synthesis is deterministic).
  const skip = job.skipFrames ?? 0;
  if (Atomics.load(flag, 0) === job.id) {
    port.postMessage({ type: 'done', id: job.id, stopped: true, frames: 0 });
    return;
  }
  if (job.voice.length > 60) throw new Error(`voice name too long: ${job.voice}`);
  if (espeak.set_voice(job.voice) !== 0) throw new Error(`espeak does not know voice ${job.voice}`);
  espeak.set_rate(job.rate);
  espeak.set_pitch(job.pitch);
  const bytes = encoder.encode(job.text);
  const textPtr = module._malloc(bytes.length + 1);
  module.HEAPU8.set(bytes, textPtr);
  module.HEAPU8[textPtr + bytes.length] = 0;
  espeak.synthesize({ ptr: textPtr }, (/** @type {Int16Array | undefined} */ pcm) => {
    if (Atomics.load(flag, 0) === job.id) {
      stopped = true;
      return true;
    }
    if (!pcm || pcm.length === 0) return false;
    const from = Math.min(pcm.length, Math.max(0, skip - frames));
    frames += pcm.length;
    if (from === pcm.length) return false;
    const samples = new Float32Array(pcm.length - from);
    for (let i = 0; i < samples.length; i++) samples[i] = pcm[from + i] / 32768;
    port.postMessage({ type: 'chunk', id: job.id, samples }, [samples.buffer]);
    chunks++;
    if (chunks === test.crashAfterChunks) process.exit(70);
    if (chunks === test.throwAfterChunks) throw new Error('test: synthesis failed on purpose');
    if (chunks === test.pauseAfterChunks) {
      const seen = Atomics.load(flag, 0);
      if (seen !== job.id) Atomics.wait(flag, 0, seen, 30_000); // returns at once if the flag changed since `seen`
    }
    if (Atomics.load(flag, 0) === job.id) {
      stopped = true;
      return true;
    }
    return false;
  });
  module._free(textPtr);
  port.postMessage({ type: 'done', id: job.id, stopped, frames });
}

let warmMs = 0;
if (warm) {
  const warmStart = performance.now();
  espeak.set_voice('en-us');
  espeak.synthesize('Ready.', () => false);
  restore();
  warmMs = performance.now() - warmStart;
}

port.on('message', (message) => {
  if (message?.type !== 'job') return;
  try {
    run(message);
  } catch (error) {
    port.postMessage({ type: 'failed', id: message.id, message: error instanceof Error ? error.message : String(error) });
  } finally {
    // Restore now rather than at the next job's start: the copy (~17 MB)
    // overlaps the main thread's dispatch instead of delaying first audio.
    restore();
  }
});
port.postMessage({ type: 'ready', loadMs, warmMs });
