import type { Registry } from '@voxpipe/core';
import { decode } from './decode.js';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from './g711-stages.js';
import { mp3Encode } from './mp3-encode.js';
import { wavEncode } from './wav-encode.js';

/** Every codecs stage that can be built from JSON options, by name. Merge with `{ ...coreStages, ...codecStages }`. */
export const codecStages: Registry = {
  decode,
  mp3Encode,
  wavEncode,
  mulawEncode,
  mulawDecode,
  alawEncode,
  alawDecode,
};
