/*
 * The C side of voxpipe's eSpeak NG WebAssembly module: plain exports that
 * glue/post.js wraps in an `eSpeakNGWorker` class shaped like the one in
 * @echogarden/espeak-ng-emscripten (same init flags, same espeak_Synth flags).
 * All state lives in wasm memory, so a heap snapshot/restore covers it.
 *
 * GPL-3.0-or-later, like eSpeak NG.
 */
#include <string.h>
#include <emscripten.h>
#include <espeak-ng/speak_lib.h>

/* Where the file packager puts espeak-ng-data in the virtual file system (espeak appends /espeak-ng-data). */
#define DATA_PARENT "/usr/share"

static int samplerate = 0;
static int rate = espeakRATE_NORMAL;
static int volume = 100;
static int pitch = 50;
static int range = 50;

/* Initialises espeak once: synchronous, 100 ms buffers, phoneme events with IPA names (as echogarden). Returns the sample rate. */
EMSCRIPTEN_KEEPALIVE int espeak_glue_init(void) {
  if (!samplerate)
    samplerate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 100, DATA_PARENT,
                                   espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA | espeakINITIALIZE_DONT_EXIT);
  return samplerate;
}

/* Selects a voice by name, e.g. "en-us+m3"; 0 (EE_OK) on success. */
EMSCRIPTEN_KEEPALIVE int espeak_glue_set_voice(const char *name) {
  return espeak_SetVoiceByName(name);
}

EMSCRIPTEN_KEEPALIVE void espeak_glue_set_rate(int value) { rate = value; }
EMSCRIPTEN_KEEPALIVE int espeak_glue_get_rate(void) { return rate; }
EMSCRIPTEN_KEEPALIVE void espeak_glue_set_pitch(int value) { pitch = value; }
EMSCRIPTEN_KEEPALIVE int espeak_glue_get_pitch(void) { return pitch; }
EMSCRIPTEN_KEEPALIVE void espeak_glue_set_volume(int value) { volume = value; }
EMSCRIPTEN_KEEPALIVE int espeak_glue_get_volume(void) { return volume; }
EMSCRIPTEN_KEEPALIVE void espeak_glue_set_range(int value) { range = value; }
EMSCRIPTEN_KEEPALIVE int espeak_glue_get_range(void) { return range; }
EMSCRIPTEN_KEEPALIVE int espeak_glue_get_samplerate(void) { return samplerate; }
EMSCRIPTEN_KEEPALIVE int espeak_glue_event_size(void) { return sizeof(espeak_EVENT); }

/*
 * Speaks a NUL-terminated UTF-8 text through `callback` (a table index of an
 * 'iiii' function: (short *wav, int numsamples, espeak_EVENT *events) -> 1 to stop).
 * Text is read as SSML with [[phoneme]] input, as echogarden's glue does.
 */
EMSCRIPTEN_KEEPALIVE int espeak_glue_synth(const char *text, t_espeak_callback *callback) {
  espeak_SetSynthCallback(callback);
  espeak_SetParameter(espeakRATE, rate, 0);
  espeak_SetParameter(espeakVOLUME, volume, 0);
  espeak_SetParameter(espeakPITCH, pitch, 0);
  espeak_SetParameter(espeakRANGE, range, 0);
  int result = espeak_Synth(text, 0, 0, POS_CHARACTER, 0, espeakCHARS_UTF8 | espeakSSML | espeakPHONEMES, NULL, NULL);
  espeak_SetSynthCallback(NULL);
  return result;
}
