import type { ModelInfo, PublicVoice } from './catalog.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** The small page at GET /: what the server offers and how to call it. */
export function indexPage(models: readonly ModelInfo[], voices: readonly PublicVoice[], engineName: string): string {
  const modelRows = models
    .map((m) => `<tr><td><code>${escapeHtml(m.id)}</code></td><td>${m.path}</td><td>${m.defaultFormat}</td><td>${m.speed ? 'yes' : 'no'}</td><td>${m.pitch ? 'yes' : 'no'}</td><td>${escapeHtml(m.description)}</td></tr>`)
    .join('\n');
  const byLanguage = new Map<string, PublicVoice[]>();
  for (const voice of voices) byLanguage.set(voice.language, [...(byLanguage.get(voice.language) ?? []), voice]);
  const voiceRows = [...byLanguage]
    .map(([language, list]) => `<tr><td><code>${escapeHtml(language)}</code></td><td>${list.map((v) => `${escapeHtml(v.name)} <small>(${v.gender}, ${escapeHtml(v.engineVoice)})</small>`).join(', ')}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>voxpipe TTS server</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
code, pre { background: #f4f4f4; border-radius: 3px; padding: 0 .2rem; }
pre { padding: .6rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>voxpipe TTS server</h1>
<p>Engine: <code>${escapeHtml(engineName)}</code>. Stream speech with <code>POST /v1/tts/stream</code> and an <code>X-API-Key</code> header.</p>
<pre>curl -N -H 'X-API-Key: $KEY' -H 'Content-Type: application/json' \\
  -d '{"text":"Hello from voxpipe.","voice":"Peter","language":"en-US","model":"aura-lite"}' \\
  http://HOST/v1/tts/stream &gt; hello.pcm   # s16le, 24000 Hz, mono</pre>
<h2>Models</h2>
<table><thead><tr><th>id</th><th>path</th><th>default format</th><th>speed</th><th>pitch</th><th></th></tr></thead>
<tbody>
${modelRows}
</tbody></table>
<h2>Voices</h2>
<table><thead><tr><th>language</th><th>voices</th></tr></thead>
<tbody>
${voiceRows}
</tbody></table>
<p>Also: <a href="/v1/models">/v1/models</a>, <a href="/v1/voices">/v1/voices</a>, <a href="/healthz">/healthz</a>.</p>
</body>
</html>
`;
}
