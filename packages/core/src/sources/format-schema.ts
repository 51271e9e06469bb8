import * as v from 'valibot';
import { channelsSchema, sampleRateSchema } from '../options.js';

/**
 * A `Format` as options data (see format.ts). Internal to the sources that
 * take a format in their options (`fromIterable`, `fromResponse`).
 */
export const formatSchema = v.strictObject({
  kind: v.picklist(['bytes', 'pcm', 'text']),
  container: v.optional(v.picklist(['mp3', 'wav', 'pcm', 'mulaw', 'alaw', 'opus', 'vorbis', 'flac', 'ogg'])),
  encoding: v.optional(v.picklist(['s16le', 'f32le'])),
  sampleRate: v.optional(sampleRateSchema),
  channels: v.optional(channelsSchema),
});
