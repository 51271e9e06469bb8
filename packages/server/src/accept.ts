import type { AudioFormatName } from './catalog.js';

const TYPES: Record<string, AudioFormatName> = {
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/pcm': 'pcm',
  'audio/l16': 'pcm',
  'audio/raw': 'pcm',
  'audio/ogg': 'opus',
  'audio/opus': 'opus',
};

/**
 * The audio format an `Accept` header prefers (highest q first, then order),
 * or undefined when it names none of ours (e.g. `*\/*`): the model's default applies.
 */
export function formatFromAccept(accept: string | null | undefined): AudioFormatName | undefined {
  if (!accept) return undefined;
  const ranked = accept
    .split(',')
    .map((part, order) => {
      const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1, order };
    })
    .filter((entry) => entry.q > 0 && TYPES[entry.type] !== undefined)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  return ranked.length > 0 ? TYPES[ranked[0].type] : undefined;
}
