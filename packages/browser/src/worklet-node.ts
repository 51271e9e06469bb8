import { VoxpipeError } from '@voxpipe/core';
import { canShareRing, messageRing, sharedRing, type RingWriter } from './ring-writer.js';
import { loadProcessor, PROCESSOR_NAME } from './load-processor.js';
import type { ProcessorMessage, ProcessorOptions } from './worklet-processor.js';

/** What one run's playback is set up with: `audioWorkletSink`'s options, parsed. */
export interface PlaybackSettings {
  prebufferMs: number;
  rebuffer: boolean | number;
  channels?: number;
  bufferMs: number;
  quality: 'high' | 'medium' | 'fast';
  transport: 'auto' | 'shared' | 'message';
  destination?: AudioNode;
  abortFadeMs: number;
  moduleUrl?: string;
  jitter: 'adaptive' | 'fixed';
  volume: number;
  outputElement?: boolean | HTMLAudioElement;
}

/** Fades that keep an underrun, a pause and a resume from clicking. */
const RAMP_MS = 5;
/** The adaptive jitter buffer shortens no pause of the speech below this. */
const PAUSE_KEEP_MS = 100;
/** The time constant of the output gain's move to a new volume: smooth, so no zipper noise. */
const VOLUME_MS = 10;
/** The adaptive jitter buffer's ceiling (and at most half the ring), and how much steady play lowers its target a step. */
const JITTER_MAX_MS = 2000;
const JITTER_DECAY_MS = 2000;

/** How early the worklet tells of a word about to play: more than a busy page's message takes. */
const WATCH_LEAD_MS = 60;

/** Loads the processor into the context's worklet scope (once per context); a failure is a `format` error naming the stage. */
export async function loadWorklet(stage: string, context: BaseAudioContext, moduleUrl?: string): Promise<void> {
  try {
    await loadProcessor(context, moduleUrl);
  } catch (error) {
    throw new VoxpipeError('format', `${stage}: could not load the AudioWorklet processor: ${error instanceof Error ? error.message : String(error)}`, { stage, cause: error });
  }
}

/**
 * Makes one run's worklet node, connected to the destination, and the ring
 * that feeds it (shared memory where the page allows, posted chunks
 * otherwise), sized from the settings at the context's rate.
 *
 * ```ts
 * await loadWorklet('audioWorkletSink', context);
 * const { node, writer } = createWorkletNode('audioWorkletSink', context, settings, 2, (m) => console.log(m.type));
 * ```
 */
export function createWorkletNode(stage: string, context: BaseAudioContext, o: PlaybackSettings, channels: number, receive: (m: ProcessorMessage) => void): { node: AudioWorkletNode; writer: RingWriter } {
  const frames = (ms: number) => Math.round((ms * Math.round(context.sampleRate)) / 1000);
  const prebufferFrames = frames(o.prebufferMs);
  const rebufferFrames = o.rebuffer === false ? 0 : frames(o.rebuffer === true ? o.prebufferMs : o.rebuffer);
  const jitter = {
    adaptive: o.jitter === 'adaptive',
    prebufferFrames,
    rebufferFrames,
    minFrames: prebufferFrames,
    maxFrames: Math.max(prebufferFrames, frames(Math.min(JITTER_MAX_MS, o.bufferMs / 2))),
    decayFrames: frames(JITTER_DECAY_MS),
    marginFrames: frames(PAUSE_KEEP_MS),
  };
  const capacity = Math.max(frames(o.bufferMs), prebufferFrames + 1024, rebufferFrames + 1024, jitter.maxFrames + 1024) + 1;
  const shared = o.transport === 'shared' || (o.transport === 'auto' && canShareRing());
  if (shared && !canShareRing()) {
    throw new VoxpipeError('bad-request', `${stage}: transport "shared" needs a crossOriginIsolated page (COOP/COEP headers)`, { stage });
  }
  const ring = shared ? sharedRing(channels, capacity) : undefined;
  const processorOptions: ProcessorOptions = { channels, capacity, prebufferFrames, rebufferFrames, jitter, rampFrames: frames(RAMP_MS), volume: o.volume, volumeFrames: frames(VOLUME_MS), keepFrames: frames(PAUSE_KEEP_MS), reportFrames: frames(20), watchLeadFrames: frames(WATCH_LEAD_MS), shared: ring?.buffers };
  const node = new AudioWorkletNode(context, PROCESSOR_NAME, { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [channels], processorOptions });
  node.port.onmessage = (event: MessageEvent<ProcessorMessage>) => receive(event.data);
  node.connect(o.destination ?? context.destination);
  return { node, writer: ring ? ring.writer : messageRing(node.port, channels, capacity) };
}
