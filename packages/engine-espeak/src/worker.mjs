// The espeak synthesis worker: one eSpeak NG WebAssembly instance per thread
// (this package's own build: ../espeak-ng, made by wasm/build.sh).
// Plain JavaScript on purpose, so `new Worker(url)` loads it the same way
// under Node, tsx and vitest (no TypeScript loader inside the worker).
//
// Protocol (mirrored by the types in protocol.ts):
//   workerData: { flag: SharedArrayBuffer /* Int32Array[2]: per stop cell, the id of a job to stop */,
//                 running: SharedArrayBuffer /* Float64Array[2]: written here: the running job's id, its start (epoch ms) */,
//                 warm: boolean | 'full', nice /* levels below the process's priority to run at */ }
//   in:  { type: 'job', id, cell /* its stop cell */, text, voice /* espeak name */, rate, pitch, skipFrames?, test? }
//   out: { type: 'ready', loadMs, warmMs, msPerChar /* the thorough warm-up's last rounds' median cost, 0 without one */ }
//        { type: 'chunk', id, samples /* Float32Array, buffer transferred */,
//          marks /* [{ frame, duration, charStart, charEnd }]: words starting in it, UTF-16 offsets into the job's text */ }
//        { type: 'done', id, stopped /* true when cancelled part-way */, frames, ms /* the job's wall time here */ }
//        { type: 'failed', id, message, ms }
//
// A job runs synchronously inside espeak; the thread cannot read messages
// meanwhile, so cancellation goes through the job's stop cell in the shared
// flag, which the audio callback reads before every ~100 ms piece (returning
// true stops espeak). The engine may send the next job while one runs: it
// waits in this thread's port and starts the moment the running one ends,
// unless its own stop cell already names it.
//
// Word marks: eSpeak's word and phoneme events come with the audio they fall
// in; word-marks.mjs turns them into marks and holds a piece back until the
// ends of the words starting in it are known (see there).
//
// Determinism: espeak keeps state between utterances (wave phase, echo
// buffers…), so the same text would not give the same samples twice. The
// worker snapshots the wasm heap once after start-up and restores it before
// every job (right after the previous one), so each job starts from the
// identical state on any worker. Only the heap's used part is copied back:
// nothing lies above the allocator's break (sbrk), whose address is found
// once at start-up (see findBreak); everything up to where it stands after
// the job is restored, so memory a job took from sbrk is zeroed again.
// Two more things keep that snapshot honest:
// - espeak seeds its random state from the clock at start-up, so this
//   thread's Date.now is pinned to a constant (the thread runs nothing else);
// - the WebIDL glue keeps its string buffers in JS variables that a heap
//   restore would not roll back, so the text is copied into the restored heap
//   with _malloc and passed by pointer; voice names are short enough for the
//   glue's 128-byte buffer, which is allocated before the snapshot.

import { readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import createEspeak from '../espeak-ng/espeak-ng.js';
import { MarkedAudio, SAMPLE_RATE } from './word-marks.mjs';

/** @type {{ flag: SharedArrayBuffer, running: SharedArrayBuffer, warm: boolean | 'full', nice: number }} */
const { flag: flagBuffer, running: runningBuffer, warm, nice } = workerData;
const flag = new Int32Array(flagBuffer);
const running = new Float64Array(runningBuffer);
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

if (nice > 0) lowerPriority(nice);

/** Runs this thread `steps` nice levels below the process (Linux: a thread's id names it to setpriority); elsewhere nothing. */
function lowerPriority(/** @type {number} */ steps) {
  try {
    const tid = Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0]);
    setPriority(tid, Math.min(19, getPriority(process.pid) + steps));
  } catch {
    // no /proc, or not allowed: the thread keeps the process's priority
  }
}

const FIXED_NOW = Date.UTC(2024, 0, 1);
Date.now = () => FIXED_NOW;

const loadStart = performance.now();
const module = await createEspeak();
const espeak = new module.eSpeakNGWorker();
espeak.set_voice('en-us');
if (espeak.get_samplerate() !== SAMPLE_RATE) throw new Error(`espeak speaks at ${espeak.get_samplerate()} Hz, not ${SAMPLE_RATE}`);

// eSpeak's event list (espeak_EVENT, wasm32): type at 0, text_position at 8,
// length at 12, sample at 20, id (a phoneme's name, 8 bytes) at 28; a type of 0 ends the list.
const EVENT_SIZE = espeak.getSizeOfEventStruct_();
if (EVENT_SIZE !== 36) throw new Error(`unexpected espeak_EVENT size ${EVENT_SIZE}`);
const WORD_EVENT = 1;
const PHONEME_EVENT = 7;
/** @type {((audioPtr: number, length: number, eventsPtr: number) => number) | undefined} the running job's audio callback */
let onAudio;
// One callback for the worker's life, made before the snapshot below.
const callbackPtr = module.addFunction((/** @type {number} */ audioPtr, /** @type {number} */ length, /** @type {number} */ eventsPtr) => (onAudio ? onAudio(audioPtr, length, eventsPtr) : 0), 'iiii');
const breakAt = findBreak();
/** @type {Uint8Array} */
const snapshot = module.HEAPU8.slice();
/** WebAssembly's stack pointer at the snapshot: a global outside the heap, which an exception unwinding through espeak's frames leaves lower. */
const stackTop = module.stackSave();
/** The snapshot's last byte that is not 0 (everything above is zero). */
const snapshotUsed = lastNonZero(snapshot) + 1;
const loadMs = performance.now() - loadStart;

const encoder = new TextEncoder();
/** The thorough warm-up: rounds of a text with words, numbers and punctuation, in the voices the server offers first (Peter, Anna), en-us itself and a British one. */
const WARM_ROUNDS = 12;
const WARM_TEXT =
  'Good morning! At 7:45 on Tuesday, 3 March, the quick brown fox jumped over the lazy dog; "why?" she asked. Nothing at all, really, said he.';
const WARM_VOICES = ['en-us+m3', 'en-us+f3', 'en-us', 'en+f2'];

/** Puts the heap back as the snapshot has it: up to the break (as high as the job took it: emscripten's malloc never lowers it), or all of it; and the stack pointer. */
function restore() {
  const heap = /** @type {Uint8Array} */ (module.HEAPU8);
  const brk = breakAt < 0 ? Infinity : /** @type {Uint32Array} */ (module.HEAPU32)[breakAt >> 2];
  heap.set(brk <= heap.length ? snapshot.subarray(0, Math.min(snapshot.length, Math.max(snapshotUsed, brk + BREAK_MARGIN))) : snapshot);
  if (heap.length > snapshot.length) heap.fill(0, snapshot.length);
  module.stackRestore(stackTop);
}

/** Bytes restored past the break: the allocator's boundary tags sit just past the chunks they end. */
const BREAK_MARGIN = 4096;

/**
 * Where the allocator keeps its break (sbrk's pointer, a word in static
 * memory), or -1 when it cannot be told apart: allocating 4 MB moves the
 * break up by at least that, past the block. Of the words that moved so
 * (the break and the top chunk's start), the break is the highest. The heap
 * is put back as it was before the probe.
 */
function findBreak() {
  const PROBE = 4 << 20;
  const heap = /** @type {Uint8Array} */ (module.HEAPU8);
  if (heap.length < 3 * PROBE) return -1;
  const before = heap.slice();
  const words = new Uint32Array(before.buffer);
  const block = module._malloc(PROBE);
  const after = /** @type {Uint32Array} */ (module.HEAPU32);
  let found = -1;
  if (block) {
    const scan = Math.min(words.length, block >> 2);
    for (let i = 0; i < scan; i++) {
      const moved = after[i];
      if (moved - words[i] >= PROBE && moved >= block + PROBE && moved <= heap.length && (found < 0 || moved > after[found >> 2])) found = i << 2;
    }
  }
  /** @type {Uint8Array} */ (module.HEAPU8).set(before);
  return found;
}

/** @param {Uint8Array} bytes */
function lastNonZero(bytes) {
  let i = bytes.length - 1;
  while (i >= 0 && bytes[i] === 0) i--;
  return i;
}

/**
 * @param {{ id: number, cell: number, text: string, voice: string, rate: number, pitch: number, skipFrames?: number,
 *           test?: { crashAfterChunks?: number, pauseAfterChunks?: number, throwAfterChunks?: number } }} job
 * @param {number} started when the job started (performance.now())
 */
function run(job, started) {
  const test = job.test ?? {};
  const cell = job.cell;
  let chunks = 0;
  let stopped = false;
  const skip = job.skipFrames ?? 0;
  if (Atomics.load(flag, cell) === job.id) {
    port.postMessage({ type: 'done', id: job.id, stopped: true, frames: 0, ms: performance.now() - started });
    return;
  }
  if (espeak.set_voice(job.voice) !== 0) throw new Error(`espeak does not know voice ${job.voice}`);
  espeak.set_rate(job.rate);
  espeak.set_pitch(job.pitch);
  const bytes = encoder.encode(job.text);
  const textPtr = module._malloc(bytes.length + 1);
  module.HEAPU8.set(bytes, textPtr);
  module.HEAPU8[textPtr + bytes.length] = 0;
  // Remaking a segment: the first skipFrames frames were sent before (synthesis is deterministic).
  const audio = new MarkedAudio(job.text, skip);
  /** Sends the pieces whose marks are complete; true when the job must stop. */
  const send = () => {
    for (const { samples, marks } of audio.take()) {
      port.postMessage({ type: 'chunk', id: job.id, samples, marks }, [samples.buffer]);
      chunks++;
      if (chunks === test.crashAfterChunks) process.exit(70);
      if (chunks === test.throwAfterChunks) throw new Error('test: synthesis failed on purpose');
      if (chunks === test.pauseAfterChunks) {
        const seen = Atomics.load(flag, cell);
        if (seen !== job.id) Atomics.wait(flag, cell, seen, 30_000); // returns at once if the flag changed since `seen`
      }
      if (Atomics.load(flag, cell) === job.id) return (stopped = true);
    }
    return false;
  };
  onAudio = (audioPtr, length, eventsPtr) => {
    if (Atomics.load(flag, cell) === job.id) {
      stopped = true;
      return 1;
    }
    const heap = /** @type {Int32Array} */ (module.HEAP32);
    for (let ptr = eventsPtr; heap[ptr >> 2] !== 0; ptr += EVENT_SIZE) {
      const type = heap[ptr >> 2];
      if (type === WORD_EVENT) audio.word(heap[(ptr + 8) >> 2], heap[(ptr + 12) >> 2], heap[(ptr + 20) >> 2]);
      else if (type === PHONEME_EVENT) audio.phoneme(module.HEAPU8[ptr + 28] === 0, heap[(ptr + 20) >> 2]);
    }
    if (length > 0) audio.audio(module.HEAP16.subarray(audioPtr >> 1, (audioPtr >> 1) + length));
    return send() ? 1 : 0;
  };
  try {
    espeak.synth_({ ptr: textPtr }, callbackPtr);
  } finally {
    onAudio = undefined;
  }
  module._free(textPtr);
  if (!stopped) {
    audio.finish();
    send();
  }
  const frames = audio.made;
  port.postMessage({ type: 'done', id: job.id, stopped, frames, ms: performance.now() - started });
}

/** Runs one job message, then puts the heap back. */
function handle(/** @type {any} */ message) {
  const started = performance.now();
  running[0] = message.id;
  running[1] = performance.timeOrigin + started;
  try {
    run(message, started);
  } catch (error) {
    port.postMessage({ type: 'failed', id: message.id, message: error instanceof Error ? error.message : String(error), ms: performance.now() - started });
  } finally {
    // Restore now rather than at the next job's start: the copy (the
    // heap's used part, ~1.5 MB of its 16) overlaps the main thread's dispatch
    // instead of delaying first audio.
    restore();
  }
}

let warmMs = 0;
let msPerChar = 0;
if (warm === 'full') {
  // A fresh worker's first calls run espeak's JavaScript unoptimized (10–17× slower): speak through the very path
  // every job takes — messages sent, with ids the engine ignores — in a few voices, until V8 has compiled it. (A
  // warm-up that sent nothing was undone by the first real job: the code V8 had optimized changed under it.)
  const warmStart = performance.now();
  const costs = [];
  for (let round = 0; round < WARM_ROUNDS; round++) {
    const started = performance.now();
    handle({ type: 'job', id: -1 - round, cell: 0, text: WARM_TEXT, voice: WARM_VOICES[round % WARM_VOICES.length], rate: 175, pitch: 50 });
    costs.push((performance.now() - started) / WARM_TEXT.length);
  }
  // The median of the last four rounds: one round held up by other work on the machine does not count.
  const last = costs.slice(-4).sort((a, b) => a - b);
  msPerChar = (last[1] + last[2]) / 2;
  warmMs = performance.now() - warmStart;
} else if (warm) {
  const warmStart = performance.now();
  espeak.set_voice('en-us');
  espeak.synthesize('Ready.', () => false);
  restore();
  warmMs = performance.now() - warmStart;
}

port.on('message', (message) => {
  if (message?.type === 'job') handle(message);
});
port.postMessage({ type: 'ready', loadMs, warmMs, msPerChar });
