import { VoxpipeError } from '../errors.js';
import type { Format } from '../format.js';
import type { PcmChunk } from './pcm.js';

/** What a checked chunk is: its rate, channel count and frames per channel. */
export interface PcmShape {
  sampleRate: number;
  channelCount: number;
  frames: number;
}

/**
 * Makes a checker for the PCM chunks one run of a stage receives: each chunk
 * must be planar Float32Arrays of one length, at the rate and channel count
 * of the input format (or, where the format leaves them open, of the first
 * chunk). Anything else throws a `format` VoxpipeError naming the stage.
 * Every PCM stage and sink checks its input with it.
 *
 * ```ts
 * const check = pcmChecker('mySink', input);
 * const { sampleRate, channelCount, frames } = check(chunk);
 * ```
 */
export function pcmChecker(stage: string, input: Format): (chunk: PcmChunk) => PcmShape {
  let sampleRate = input.sampleRate;
  let channelCount = input.channels;
  const fail = (message: string) => new VoxpipeError('format', `"${stage}" got ${message}`, { stage });
  return (chunk) => {
    const channels = (chunk as Partial<PcmChunk> | null)?.channels;
    if (!Array.isArray(channels) || channels.length === 0 || !allFloat32(channels)) {
      throw fail('a chunk that is not planar PCM (channels must be a non-empty array of Float32Array)');
    }
    const rate = chunk.sampleRate;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) throw fail(`a chunk with sample rate ${String(rate)}`);
    sampleRate ??= rate;
    channelCount ??= channels.length;
    if (rate !== sampleRate) throw fail(`a ${rate} Hz chunk in a ${sampleRate} Hz stream`);
    if (channels.length !== channelCount) throw fail(`a ${channels.length}-channel chunk in a ${channelCount}-channel stream`);
    const frames = channels[0].length;
    if (!allLength(channels, frames)) throw fail(`a chunk whose channels differ in length (${channels.map((c) => c.length).join(', ')})`);
    return { sampleRate, channelCount, frames };
  };
}

// Plain loops: this runs on every chunk of every PCM stage.
function allFloat32(channels: readonly unknown[]): boolean {
  for (let c = 0; c < channels.length; c++) if (!(channels[c] instanceof Float32Array)) return false;
  return true;
}

function allLength(channels: readonly Float32Array[], frames: number): boolean {
  for (let c = 1; c < channels.length; c++) if (channels[c].length !== frames) return false;
  return true;
}
