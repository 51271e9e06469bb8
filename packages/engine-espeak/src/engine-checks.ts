import { VoxpipeError, type SynthesisRequest } from '@voxpipe/core';
import type { EspeakEngineOptions } from './engine-types.js';
import { semitonesToPitch, speedToRate } from './prosody.js';
import { DEFAULT_SEGMENT_CHARS } from './segment.js';
import { ESPEAK_VOICES, findVoice } from './voices.js';

/** Validates a request and turns it into espeak settings, or throws `bad-request`. */
export function checkRequest(request: SynthesisRequest): { voice: string; rate: number; pitch: number } {
  const bad = (message: string) => new VoxpipeError('bad-request', message, { stage: 'espeak' });
  if (typeof request.text !== 'string' || request.text.trim() === '') throw bad('The text to speak is empty');
  const voice = typeof request.voice === 'string' ? findVoice(request.voice) : undefined;
  if (!voice) throw bad(`Unknown espeak voice "${String(request.voice)}"; known voices: ${ESPEAK_VOICES.map((x) => x.id).join(', ')}`);
  const speed = request.speed ?? 1;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0) throw bad(`speed must be a positive number, got ${String(request.speed)}`);
  const pitch = request.pitch ?? 0;
  if (typeof pitch !== 'number' || !Number.isFinite(pitch)) throw bad(`pitch must be a number of semitones, got ${String(request.pitch)}`);
  return { voice: voice.espeak, rate: speedToRate(speed), pitch: semitonesToPitch(voice.id, pitch) };
}

/** Validates engine options (valibot is not a dependency of this package). */
export function checkOptions(options: EspeakEngineOptions): { workers: number | undefined; warm: boolean | 'full'; workerNice: number; segmentChars: number; stallMs: number } {
  const bad = (message: string) => new VoxpipeError('bad-request', `Bad options for "espeak": ${message}`, { stage: 'espeak' });
  const known = new Set(['workers', 'warm', 'workerNice', 'segmentChars', 'stallMs']);
  for (const key of Object.keys(options ?? {})) if (!known.has(key)) throw bad(`unknown option ${key}`);
  const { workers, warm = true, workerNice = 0, segmentChars = DEFAULT_SEGMENT_CHARS, stallMs = 1000 } = options ?? {};
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 256)) throw bad('workers must be an integer from 1 to 256');
  if (typeof warm !== 'boolean' && warm !== 'full') throw bad("warm must be a boolean or 'full'");
  if (!(Number.isInteger(workerNice) && workerNice >= 0 && workerNice <= 19)) throw bad('workerNice must be an integer from 0 to 19');
  if (!(Number.isInteger(segmentChars) && segmentChars >= 20 && segmentChars <= 10_000)) throw bad('segmentChars must be an integer from 20 to 10000');
  if (!(typeof stallMs === 'number' && Number.isFinite(stallMs) && stallMs >= 10 && stallMs <= 600_000)) throw bad('stallMs must be a number of milliseconds from 10 to 600000');
  return { workers, warm, workerNice, segmentChars, stallMs };
}
