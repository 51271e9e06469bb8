import type { EngineVoice } from '@voxpipe/core';

/** One voice the espeak engine exposes, with the name espeak knows it by. */
export interface EspeakVoice extends EngineVoice {
  /** The name given to espeak's `set_voice`, e.g. `en+m3` for `en-gb+m3`. */
  espeak: string;
}

/** [id prefix, BCP-47 language, espeak language name] */
const LANGUAGES: ReadonlyArray<readonly [string, string, string]> = [
  ['en-us', 'en-US', 'en-us'],
  ['en-gb', 'en-GB', 'en'],
  ['de', 'de-DE', 'de'],
  ['fr', 'fr-FR', 'fr'],
  ['es', 'es-ES', 'es'],
];

/** espeak variants (files in espeak-ng-data/voices/!v); '' is the language's own (male) voice. */
const VARIANTS: ReadonlyArray<readonly [string, 'male' | 'female']> = [
  ['', 'male'],
  ['+m1', 'male'],
  ['+m2', 'male'],
  ['+m3', 'male'],
  ['+f1', 'female'],
  ['+f2', 'female'],
  ['+f3', 'female'],
];

/** Every voice the engine exposes, in a fixed order. */
export const ESPEAK_VOICES: readonly EspeakVoice[] = LANGUAGES.flatMap(([prefix, language, espeak]) =>
  VARIANTS.map(([variant, gender]) => ({ id: prefix + variant, language, gender, espeak: espeak + variant })),
);

const BY_ID = new Map(ESPEAK_VOICES.map((voice) => [voice.id.toLowerCase(), voice]));

/** The exposed voice with this id (case-insensitive), or undefined. */
export function findVoice(id: string): EspeakVoice | undefined {
  return BY_ID.get(id.toLowerCase());
}
