// The demo page served at the server's `/`: streams speech from this origin's
// /v1/tts/stream into audioWorkletSink, with live figures, a level meter,
// captions that mark the word playing now, and after Stop the text heard.
// Bundled by ../scripts/build-demo.ts.
import { decode } from '@voxpipe/codecs';
import { pipeline, ttsSource, VoxpipeError, type Run } from '@voxpipe/core';
import { audioWorkletSink, defaultAudioContext, unlock, type PlaybackControl, type PlaybackResult } from '../src/index.js';

interface ModelInfo {
  id: string;
  pitch: boolean;
  speed: boolean;
  description: string;
}
interface VoiceInfo {
  name: string;
  language: string;
  gender: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('form');
const key = $<HTMLInputElement>('key');
const text = $<HTMLTextAreaElement>('text');
const model = $<HTMLSelectElement>('model');
const language = $<HTMLSelectElement>('language');
const voice = $<HTMLSelectElement>('voice');
const speed = $<HTMLInputElement>('speed');
const pitch = $<HTMLInputElement>('pitch');
const format = $<HTMLSelectElement>('format');
const play = $<HTMLButtonElement>('play');
const stop = $<HTMLButtonElement>('stop');
const status = $<HTMLParagraphElement>('status');
const level = $<HTMLDivElement>('level');
const captions = $<HTMLParagraphElement>('captions');
const heard = $<HTMLParagraphElement>('heard');
const figures = {
  ttfb: $('ttfb'),
  firstAudio: $('first-audio'),
  playbackStart: $('playback-start'),
  buffered: $('buffered'),
  underruns: $('underruns'),
};

let models: ModelInfo[] = [];
let voices: VoiceInfo[] = [];
/** The run playing now and its control (the control comes once the sink has started). */
let current: { run: Run<PlaybackResult>; control(): PlaybackControl | undefined } | undefined;
let peak = 0;

key.value = new URLSearchParams(location.search).get('key') ?? localStorage.getItem('voxpipe-key') ?? '';

function say(message: string, error = false): void {
  status.textContent = message;
  status.classList.toggle('error', error);
}

function option(value: string, label = value): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

async function loadCatalog(): Promise<void> {
  try {
    const [m, v] = await Promise.all([fetch('/v1/models').then((r) => r.json()), fetch('/v1/voices').then((r) => r.json())]);
    models = m.models as ModelInfo[];
    voices = v.voices as VoiceInfo[];
    model.replaceChildren(...models.map((x) => option(x.id, `${x.id} — ${x.description}`)));
    model.value = models.some((x) => x.id === 'aura-lite') ? 'aura-lite' : (m.default as string);
    const languages = [...new Set(voices.map((x) => x.language))].sort();
    language.replaceChildren(...languages.map((l) => option(l)));
    language.value = languages.includes('en-US') ? 'en-US' : languages[0];
    fillVoices();
    fitPitch();
    document.body.dataset.ready = 'true';
  } catch (error) {
    say(`Could not load models and voices: ${error instanceof Error ? error.message : String(error)}`, true);
  }
}

function fillVoices(): void {
  const list = voices.filter((x) => x.language === language.value);
  voice.replaceChildren(...list.map((x) => option(x.name, `${x.name} (${x.gender})`)));
  if (list.some((x) => x.name === 'Peter')) voice.value = 'Peter';
}

function fitPitch(): void {
  const info = models.find((x) => x.id === model.value);
  pitch.disabled = !info?.pitch;
  pitch.title = pitch.disabled ? 'Pitch is not available on this model’s streaming path' : '';
}

const ms = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} ms`);

function resetFigures(): void {
  figures.ttfb.textContent = '–';
  figures.firstAudio.textContent = '–';
  figures.playbackStart.textContent = '–';
  figures.buffered.textContent = '–';
  figures.underruns.textContent = '0';
}

/** Stops a run with a fade through its control; a run whose sink has not started yet is just aborted. */
async function stopCurrent(playing: NonNullable<typeof current>, fadeMs: number) {
  const control = playing.control();
  if (control) return control.stop({ fadeMs });
  playing.run.abort('Playback was stopped');
  return undefined;
}

async function start(): Promise<void> {
  if (current) await stopCurrent(current, 30);
  const context = defaultAudioContext();
  try {
    await unlock(context); // inside the click: the browser lets audio start
  } catch (error) {
    say(error instanceof Error ? error.message : String(error), true);
    return;
  }
  localStorage.setItem('voxpipe-key', key.value);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  analyser.connect(context.destination);
  const sink = audioWorkletSink({ context, destination: analyser, prebufferMs: 150 });
  const info = models.find((x) => x.id === model.value);
  const source = ttsSource({
    baseUrl: location.origin,
    apiKey: key.value || undefined,
    text: text.value,
    model: model.value,
    voice: voice.value,
    language: language.value,
    speed: Number(speed.value),
    pitch: info?.pitch && Number(pitch.value) !== 0 ? Number(pitch.value) : undefined,
    format: format.value as 'pcm' | 'mp3',
    timestamps: true,
  });
  resetFigures();
  const said = text.value;
  caption(said);
  heard.textContent = '';
  peak = 0;
  const run = pipeline(source, decode(), sink);
  const control = () => run.control(sink);
  current = { run, control };
  play.disabled = true;
  stop.disabled = false;
  say('Requesting…');
  run.events.on('first-byte', (e) => {
    figures.ttfb.textContent = ms(e.t);
    say('Streaming…');
  });
  run.events.on('first-audio', (e) => (figures.firstAudio.textContent = ms(e.t)));
  run.events.on('playback-start', (e) => {
    figures.playbackStart.textContent = ms(e.t);
    say('Playing…');
  });
  run.events.on('underrun', () => (figures.underruns.textContent = String(run.metrics.underruns)));
  run.events.on('word', (e) => {
    if (current?.run === run) caption(said, e.detail.charStart, e.detail.charEnd);
  });

  const samples = new Float32Array(analyser.fftSize);
  const draw = () => {
    if (current?.run !== run) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const x of samples) sum += x * x;
    const rms = Math.sqrt(sum / samples.length);
    const db = 20 * Math.log10(Math.max(rms, 1e-5));
    const width = Math.max(0, Math.min(100, ((db + 60) / 60) * 100));
    peak = Math.max(peak, width);
    level.style.width = `${width}%`;
    level.dataset.peak = peak.toFixed(1);
    figures.buffered.textContent = ms(control()?.status().bufferedMs);
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);

  try {
    const result = await run.done;
    const played = result.value?.played ?? control()?.status().played ?? { ms: 0 };
    say(result.outcome === 'aborted' ? `Stopped after ${(played.ms / 1000).toFixed(2)} s of audio.` : `Done: ${(played.ms / 1000).toFixed(2)} s played.`);
    document.body.dataset.outcome = result.outcome;
  } catch (error) {
    const message = error instanceof VoxpipeError ? `${error.code}: ${error.message}` : String(error);
    say(message, true);
    document.body.dataset.outcome = 'error';
  } finally {
    if (current?.run === run) {
      current = undefined;
      play.disabled = false;
      stop.disabled = true;
      level.style.width = '0';
      figures.buffered.textContent = '0 ms';
    }
    analyser.disconnect();
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void start();
});
stop.addEventListener('click', async () => {
  if (!current) return;
  stop.disabled = true;
  const played = await stopCurrent(current, 80);
  if (!played) return;
  say(`Stopped at ${(played.ms / 1000).toFixed(2)} s (sample ${played.samples} at ${played.sampleRate} Hz).`);
  heard.textContent = played.words > 0 ? `Heard (${played.words} words): “${played.text}”` : 'Heard: no whole word.';
  heard.dataset.charEnd = String(played.charEnd);
});

/** Shows the text being said, the word playing now marked (`start`…`end`), what is still ahead greyed. */
function caption(whole: string, start = 0, end = 0): void {
  const mark = document.createElement('mark');
  mark.textContent = whole.slice(start, end);
  const ahead = document.createElement('span');
  ahead.className = 'ahead';
  ahead.textContent = whole.slice(end);
  captions.replaceChildren(document.createTextNode(whole.slice(0, start)), ...(end > start ? [mark] : []), ahead);
  captions.dataset.word = mark.textContent;
}
language.addEventListener('change', fillVoices);
model.addEventListener('change', fitPitch);
speed.addEventListener('input', () => ($('speed-value').textContent = `${Number(speed.value).toFixed(2)}×`));
pitch.addEventListener('input', () => ($('pitch-value').textContent = `${pitch.value} st`));

void loadCatalog();
