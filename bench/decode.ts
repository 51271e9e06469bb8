// MP3 decoding: voxpipe's `decode` stage against a bare mpg123-decoder loop on
// the same 60 s 44.1 kHz stereo MP3 (128 kbit/s, made with `mp3Encode`), fed
// in 16 KiB pieces; plus the full chain a TTS client runs on an MP3 response,
// 44.1 kHz stereo MP3 → mono 24 kHz s16 bytes (decode, mix, resample,
// pcmEncode). Also times `mp3Encode` on the same audio.
// Both sides are timed the same way: each round starts with a decoder already
// started and ready (the peer's made and awaited before the clock starts;
// `decode()` takes the spare `warmMp3Decoders` made ready before the clock,
// and inside the round starts its next spare, as it does in use). How long
// starting a decoder takes is printed on its own line.
// Run: npx tsx bench/decode.ts
import { MPEGDecoder, warmMp3Decoders } from '../packages/codecs/src/mp3-decoder.js'; // mpg123-decoder, as the codecs package resolves it
import { anyPcm, assemble, fromBytes, mix, pcmEncode, type AnyStage, type PcmChunk, type SinkStage } from '../packages/core/src/index.js';
import { decode } from '../packages/codecs/src/decode.js';
import { encodeMp3 } from '../packages/codecs/src/testing/fixtures.js';

const RATE = 44100;
const SECONDS = 60;
const PIECE = 16384;
const ROUNDS = 5;

const pcm: PcmChunk = {
  sampleRate: RATE,
  channels: [0, 1].map((c) => Float32Array.from({ length: RATE * SECONDS }, (_, i) => 0.4 * Math.sin((2 * Math.PI * (220 + 110 * c) * i) / RATE) + 0.05 * Math.sin(i * 1.7))),
};

let start = performance.now();
const mp3 = await encodeMp3(pcm, { bitrate: 128 });
const encodeMs = performance.now() - start;

const pieces: Uint8Array[] = [];
for (let i = 0; i < mp3.byteLength; i += PIECE) pieces.push(mp3.subarray(i, i + PIECE));

/** A timed case: `prepare` runs before the clock starts, `run` is timed. */
interface Case {
  prepare: () => Promise<unknown>;
  run: (prepared: never) => Promise<unknown>;
}

/** Best of ROUNDS for each case, every case once per round (a busy spell on a shared machine falls on all alike). */
async function bestOf(cases: Case[]): Promise<number[]> {
  const ms = cases.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < cases.length; i++) {
      const prepared = await cases[i].prepare();
      const t = performance.now();
      await cases[i].run(prepared as never);
      ms[i] = Math.min(ms[i], performance.now() - t);
    }
  }
  return ms;
}

/** A started, ready mpg123 decoder (for the peer). */
async function readyDecoder(): Promise<MPEGDecoder> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  return decoder;
}

/** The peer: mpg123-decoder used by hand on the same pieces, freed at the end as `decode()` frees its own. */
async function rawMpg123(decoder: MPEGDecoder): Promise<number> {
  let frames = 0;
  for (const piece of pieces) frames += decoder.decode(piece).samplesDecoded;
  decoder.free();
  return frames;
}

const nullSink = (kind: 'pcm' | 'bytes'): SinkStage<unknown, void> => ({ role: 'sink', name: 'null', takes: { kind }, open: () => ({ sink: {}, result: () => undefined }) });
const mp3Source = () => fromBytes(pieces, { format: { kind: 'bytes', container: 'mp3' } });
const runStages = (stages: AnyStage[]) => assemble(...(stages as [AnyStage, ...AnyStage[], SinkStage<unknown, void>])).run().done;

// resample is core's, written alongside; skip the chain line if it is not there yet.
let resample: ((o: { rate: number }) => AnyStage) | undefined;
try {
  resample = ((await import('../packages/core/src/stages/resample.js')) as { resample: (o: { rate: number }) => AnyStage }).resample;
} catch {
  resample = undefined;
}

const warm = () => warmMp3Decoders(1);
const cases: Case[] = [
  { prepare: readyDecoder, run: rawMpg123 },
  { prepare: warm, run: () => runStages([mp3Source(), decode(), nullSink('pcm')]) },
  // What starting a decoder costs, on its own (the same for both sides when neither has one ready).
  { prepare: async () => undefined, run: async () => (await readyDecoder()).free() },
];
if (resample) cases.push({ prepare: warm, run: () => runStages([mp3Source(), decode(), mix({ channels: 1 }), resample!({ rate: 24000 }), pcmEncode(), nullSink('bytes')]) });
const [rawMs, stageMs, startMs, chainMs] = await bestOf(cases);
void anyPcm;

const audioMs = SECONDS * 1000;
const xrt = (ms: number) => `${Math.round(audioMs / ms).toLocaleString('en')}×`;
console.log(`${SECONDS} s of ${RATE} Hz stereo, MP3 ${(mp3.byteLength / 1024).toFixed(0)} KiB at 128 kbit/s, ${PIECE}-byte pieces, best of ${ROUNDS} rounds (each runs every case once)\n`);
console.log(`${'case'.padEnd(58)} ${'ms'.padStart(8)} ${'× real time'.padStart(12)}`);
const line = (name: string, ms: number | undefined) =>
  console.log(`${name.padEnd(58)} ${ms === undefined ? 'skipped'.padStart(8) : ms.toFixed(1).padStart(8)} ${ms === undefined ? '' : xrt(ms).padStart(12)}`);
line('mpg123-decoder by hand (peer), decoder ready', rawMs);
line('decode() stage in a pipeline, decoder ready', stageMs);
line('full chain: decode → mix 1 → resample 24 kHz → pcmEncode s16', chainMs);
line('mp3Encode 128 kbit/s (one run, includes WASM start)', encodeMs);
console.log(`${'starting one mpg123 decoder (new MPEGDecoder → ready)'.padEnd(58)} ${startMs.toFixed(1).padStart(8)}`);
console.log(`\ndecode() / bare mpg123-decoder time, both with a ready decoder: ${(stageMs / rawMs).toFixed(3)}`);
if (!resample) console.log('full chain skipped: packages/core/src/stages/resample.ts is not there yet');
