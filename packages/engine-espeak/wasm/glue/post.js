// The JavaScript face of the module: an `eSpeakNGWorker` class with the methods
// voxpipe's engine uses from @echogarden/espeak-ng-emscripten's WebIDL class.

/** Writes `text` as NUL-terminated UTF-8 into a fresh _malloc block; the caller frees it. */
function espeakGlueString(text) {
  const size = lengthBytesUTF8(text) + 1;
  const ptr = _malloc(size);
  stringToUTF8(text, ptr, size);
  return ptr;
}

/** A pointer given as a number or as `{ ptr }` (the WebIDL glue's convention). */
function espeakGluePointer(value) {
  return typeof value === 'object' && value !== null ? value.ptr : value;
}

const ESPEAK_EVENT_TYPES = ['list_terminated', 'word', 'sentence', 'mark', 'play', 'end', 'msg_terminated', 'phoneme', 'samplerate'];

function eSpeakNGWorker() {
  this.samplerate = _espeak_glue_init();
}
eSpeakNGWorker.prototype.set_voice = function (name) {
  const ptr = espeakGlueString(name);
  try {
    return _espeak_glue_set_voice(ptr);
  } finally {
    _free(ptr);
  }
};
eSpeakNGWorker.prototype.set_rate = function (value) { _espeak_glue_set_rate(value); };
eSpeakNGWorker.prototype.get_rate = function () { return _espeak_glue_get_rate(); };
eSpeakNGWorker.prototype.set_pitch = function (value) { _espeak_glue_set_pitch(value); };
eSpeakNGWorker.prototype.get_pitch = function () { return _espeak_glue_get_pitch(); };
eSpeakNGWorker.prototype.set_volume = function (value) { _espeak_glue_set_volume(value); };
eSpeakNGWorker.prototype.get_volume = function () { return _espeak_glue_get_volume(); };
eSpeakNGWorker.prototype.set_range = function (value) { _espeak_glue_set_range(value); };
eSpeakNGWorker.prototype.get_range = function () { return _espeak_glue_get_range(); };
eSpeakNGWorker.prototype.get_samplerate = function () { return _espeak_glue_get_samplerate(); };
eSpeakNGWorker.prototype.getSizeOfEventStruct_ = function () { return _espeak_glue_event_size(); };

/** Speaks `text` (a string, or a pointer / `{ ptr }` to NUL-terminated UTF-8 in the heap) through the 'iiii' table entry `callbackPtr`. */
eSpeakNGWorker.prototype.synth_ = function (text, callbackPtr) {
  if (typeof text === 'string') {
    const ptr = espeakGlueString(text);
    try {
      return _espeak_glue_synth(ptr, callbackPtr);
    } finally {
      _free(ptr);
    }
  }
  return _espeak_glue_synth(espeakGluePointer(text), callbackPtr);
};

/** Speaks `text`, calling `callback(samples: Int16Array, events)` per piece; a truthy return stops synthesis. */
eSpeakNGWorker.prototype.synthesize = function (text, callback) {
  const eventSize = this.getSizeOfEventStruct_();
  const callbackPtr = addFunction(function (audioPtr, length, eventsPtr) {
    const samples = HEAP16.slice(audioPtr >> 1, (audioPtr >> 1) + length);
    const events = [];
    for (let ptr = eventsPtr; HEAP32[ptr >> 2] !== 0; ptr += eventSize) {
      const type = ESPEAK_EVENT_TYPES[HEAP32[ptr >> 2]];
      let id;
      if (type === 'phoneme') id = UTF8ToString(ptr + 28, 8);
      else if (type === 'mark' || type === 'play') id = UTF8ToString(HEAPU32[(ptr + 28) >> 2]);
      else if (type === 'word' || type === 'sentence') id = HEAP32[(ptr + 28) >> 2];
      events.push({ type, text_position: HEAP32[(ptr + 8) >> 2], word_length: HEAP32[(ptr + 12) >> 2], audio_position: HEAP32[(ptr + 16) >> 2], id });
    }
    return callback(samples, events) ? 1 : 0;
  }, 'iiii');
  try {
    this.synth_(text, callbackPtr);
  } finally {
    removeFunction(callbackPtr);
  }
};

Module['eSpeakNGWorker'] = eSpeakNGWorker;
