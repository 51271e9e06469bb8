import { FLACDecoder } from '@wasm-audio-decoders/flac';
import type { InnerDecoder, Warn } from './inner-decoder.js';
import { WasmStreamDecoder, type WasmStreamLibrary } from './wasm-stream-decoder.js';

/**
 * The FLAC decoder of the `decode` stage (@wasm-audio-decoders/flac: libFLAC
 * in WASM), native FLAC or Ogg FLAC, at the stream's own rate and channels.
 * The library picks native or Ogg from its first call's first 4 bytes, so
 * nothing is given to it before there are 4. libFLAC's errors are warnings,
 * not prints (see `quietFlac`).
 */
export function createDecoder(warn: Warn, options: { channels?: number } = {}): InnerDecoder {
  return new WasmStreamDecoder('flac', 'FLAC', openFlac, warn, options);
}

/** Compiles the WASM ahead of the first stream (`decode()` calls it when Content-Type names FLAC). */
export async function prepare(): Promise<void> {
  const library = new FLACDecoder();
  await library.ready;
  library.free();
}

function openFlac(head: Uint8Array, ended: boolean): WasmStreamLibrary | undefined {
  if (head.byteLength < 4 && !ended) return undefined;
  const library = new FLACDecoder();
  quietFlac(library);
  return library as unknown as WasmStreamLibrary;
}

/** The parts of @wasm-audio-decoders/flac 0.2.x's frame decoder that `quietFlac` uses. */
interface FlacInsides {
  _decode(data: Uint8Array): { error?: string; outputBuffer: Float32Array[]; samplesDecoded: number };
  _decoder: number;
  _common: {
    wasm: { HEAP: ArrayBuffer; decode_frame(decoder: number, input: number, length: number): void; free(ptr: number): void };
    allocateTypedArray<T>(length: number, type: unknown, track: boolean): { ptr: number; len: number; buf: T };
    codeToString(ptr: number): string;
    getOutputChannels(output: Float32Array, channels: number, samples: number): Float32Array[];
  };
  _errorStringPtr: { buf: Uint32Array };
  _stateStringPtr: { buf: Uint32Array };
  _outputBufferPtr: { buf: Uint32Array };
  _outputBufferLen: { buf: Uint32Array };
  _samplesDecoded: { buf: Uint32Array };
  _channels: { buf: Uint32Array };
}

/**
 * @wasm-audio-decoders/flac prints every libFLAC error with `console.error`
 * (no option turns it off) and also returns it in `errors`, which is what we
 * report. So its per-frame decode is replaced by the same WASM calls minus
 * the print, instead of swapping the global console. The package is pinned
 * to an exact version; should its insides ever differ, its own decode is kept
 * (and may print).
 */
function quietFlac(library: FLACDecoder): void {
  const frames = (library as unknown as { _decoder?: Partial<FlacInsides> })._decoder;
  if (typeof frames?._decode !== 'function') return;
  const original = frames._decode;
  frames._decode = (data: Uint8Array) => (hasInsides(frames) ? decodeQuietly(frames, data) : original.call(frames, data));
}

function hasInsides(frames: Partial<FlacInsides>): frames is FlacInsides {
  const common = frames._common;
  const views = [frames._errorStringPtr, frames._stateStringPtr, frames._outputBufferPtr, frames._outputBufferLen, frames._samplesDecoded, frames._channels];
  return (
    typeof frames._decoder === 'number' &&
    typeof common?.wasm?.decode_frame === 'function' &&
    typeof common.wasm.free === 'function' &&
    typeof common.allocateTypedArray === 'function' &&
    typeof common.codeToString === 'function' &&
    typeof common.getOutputChannels === 'function' &&
    views.every((view) => view?.buf instanceof Uint32Array)
  );
}

function decodeQuietly(frames: FlacInsides, data: Uint8Array): ReturnType<FlacInsides['_decode']> {
  const common = frames._common;
  const input = common.allocateTypedArray<Uint8Array>(data.length, Uint8Array, false);
  input.buf.set(data);
  common.wasm.decode_frame(frames._decoder, input.ptr, input.len);
  const messages: string[] = [];
  if (frames._errorStringPtr.buf[0]) messages.push(`Error: ${common.codeToString(frames._errorStringPtr.buf[0])}`);
  if (frames._stateStringPtr.buf[0]) messages.push(`State: ${common.codeToString(frames._stateStringPtr.buf[0])}`);
  const output = new Float32Array(common.wasm.HEAP, frames._outputBufferPtr.buf[0], frames._outputBufferLen.buf[0]);
  const decoded = {
    error: messages.length ? messages.join('; ') : undefined,
    outputBuffer: common.getOutputChannels(output, frames._channels.buf[0], frames._samplesDecoded.buf[0]),
    samplesDecoded: frames._samplesDecoded.buf[0],
  };
  common.wasm.free(frames._outputBufferPtr.buf[0]);
  frames._outputBufferLen.buf[0] = 0;
  frames._samplesDecoded.buf[0] = 0;
  return decoded;
}
