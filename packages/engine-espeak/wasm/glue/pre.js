// espeak-ng.wasm and espeak-ng.data are read from the directory of this file.
// The wasm is read here: emscripten 3.1.6 would fetch() it, which Node 20 has but cannot use on a path.
Module['locateFile'] = function (path) {
  return __dirname + '/' + path;
};
Module['wasmBinary'] = require('fs').readFileSync(__dirname + '/espeak-ng.wasm');
