import type { Engine, EngineVoice } from '@voxpipe/core';

/** How a model streams: audio as the engine makes it, or sentence by sentence. */
export type ModelPath = 'provider-streaming' | 'pseudo-streaming';

export interface ModelInfo {
  id: string;
  path: ModelPath;
  /** The format a response has when the request names none. */
  defaultFormat: AudioFormatName;
  speed: boolean;
  pitch: boolean;
  description: string;
}

export type AudioFormatName = 'pcm' | 'mp3' | 'wav' | 'opus';

/** The models the server lists; any other `aura-*` name is accepted as an Aura model too. */
export const MODELS: readonly ModelInfo[] = [
  { id: 'aura-lite', path: 'provider-streaming', defaultFormat: 'pcm', speed: true, pitch: false, description: 'Fast Aura model: audio leaves as the engine makes it.' },
  { id: 'aura', path: 'provider-streaming', defaultFormat: 'pcm', speed: true, pitch: false, description: 'Aura: audio leaves as the engine makes it.' },
  { id: 'aura-2', path: 'provider-streaming', defaultFormat: 'pcm', speed: true, pitch: false, description: 'Aura 2: audio leaves as the engine makes it.' },
  { id: 'rapid-max', path: 'provider-streaming', defaultFormat: 'pcm', speed: true, pitch: false, description: 'Rapid Max: audio leaves as the engine makes it.' },
  { id: 'rapid-flash', path: 'pseudo-streaming', defaultFormat: 'mp3', speed: true, pitch: true, description: 'Rapid Flash: each sentence is synthesized whole and sent as soon as it is ready; speed and pitch apply.' },
];

export const DEFAULT_MODEL = 'rapid-flash';

/** The model a request names, or undefined when unknown. Names are case-insensitive. */
export function findModel(name: string): ModelInfo | undefined {
  const id = name.trim().toLowerCase();
  const known = MODELS.find((m) => m.id === id);
  if (known) return known;
  if (/^aura-[a-z0-9][a-z0-9.-]{0,40}$/.test(id)) return { ...MODELS[1], id, description: 'Aura family model.' };
  return undefined;
}

/** A voice as the API shows it: a person's name, per language, backed by an engine voice. */
export interface PublicVoice {
  name: string;
  language: string;
  gender: 'male' | 'female' | 'neutral';
  /** The engine voice it speaks with. */
  engineVoice: string;
}

/** Names the API offers, with the espeak variant each prefers (other engines: by gender, in order). */
const NAMES: ReadonlyArray<readonly [name: string, gender: 'male' | 'female', variant: string]> = [
  ['Peter', 'male', '+m3'],
  ['James', 'male', ''],
  ['Thomas', 'male', '+m1'],
  ['Daniel', 'male', '+m2'],
  ['Anna', 'female', '+f3'],
  ['Emma', 'female', '+f1'],
  ['Sophie', 'female', '+f2'],
];

/**
 * Builds the public voice list from what the engine really speaks: every
 * name in every language the engine has, mapped to one of its voices.
 */
export function buildVoiceCatalog(engineVoices: readonly EngineVoice[]): PublicVoice[] {
  const byLanguage = new Map<string, EngineVoice[]>();
  for (const voice of engineVoices) {
    const list = byLanguage.get(voice.language) ?? [];
    list.push(voice);
    byLanguage.set(voice.language, list);
  }
  const out: PublicVoice[] = [];
  for (const [language, voices] of byLanguage) {
    const base = voices[0].id.split('+')[0];
    const used = { male: 0, female: 0 };
    for (const [name, gender, variant] of NAMES) {
      const preferred = voices.find((v) => v.id === base + variant && v.gender === gender);
      const sameGender = voices.filter((v) => v.gender === gender);
      const chosen = preferred ?? sameGender[used[gender]++ % Math.max(1, sameGender.length)] ?? voices[0];
      out.push({ name, language, gender, engineVoice: chosen.id });
    }
  }
  return out;
}

/** Finds a voice by public name (case-insensitive) or by engine voice id, in a language. */
export function findVoice(catalog: readonly PublicVoice[], engineVoices: readonly EngineVoice[], name: string, language: string): string | undefined {
  const wanted = name.trim().toLowerCase();
  const lang = language.toLowerCase();
  const named = catalog.find((v) => v.name.toLowerCase() === wanted && v.language.toLowerCase() === lang);
  if (named) return named.engineVoice;
  const raw = engineVoices.find((v) => v.id.toLowerCase() === wanted && v.language.toLowerCase() === lang);
  return raw?.id;
}

/** The languages an engine speaks, as the API names them (BCP-47, as the engine gives them). */
export function languagesOf(engine: Pick<Engine, 'voices'>): string[] {
  return [...new Set(engine.voices().map((v) => v.language))];
}
