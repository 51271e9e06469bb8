#!/usr/bin/env bash
# Builds eSpeak NG 1.52 (Debian trixie's source package) to WebAssembly for the engine's workers,
# speaking at 24 kHz (the rate voxpipe serves) instead of espeak's usual 22.05 kHz, so nothing on the
# server's thread has to resample it: espeak takes its rate from its phoneme data, which is compiled
# here at RATE from sound files first resampled to it (sox, without dither).
# Output, committed and shipped in the package: ../espeak-ng/espeak-ng.js (ES module, default export
# createEspeak), ../espeak-ng/espeak-ng.wasm, ../espeak-ng/espeak-ng.data (espeak-ng-data for en, en-us,
# de, fr, es and the !v variants) and ../espeak-ng/build.json (what was built, from what).
# Reproducible on Debian bookworm with apt: run as root (or with the tools installed). Intermediate files
# go to wasm/.build (BUILD_DIR), which git ignores.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
JOBS="${JOBS:-2}"
NICE="nice -n 10"
VERSION=1.52.0+dfsg-5
RATE=24000
BUILD="${BUILD_DIR:-$HERE/.build}"
SRC="$BUILD/src/espeak-ng-1.52.0+dfsg"
NATIVE="$BUILD/native"
WASM="$BUILD/wasm"
DATA="$BUILD/data/espeak-ng-data"   # the data tree packaged into espeak-ng.data
DIST="$HERE/../espeak-ng"
LANGS="en de fr es"
# Debian's emscripten finds its JS tools' modules (acorn, terser) in Debian's node path, which
# nodesource's node does not search by itself.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"

# 1. Tools and source (emscripten 3.1.6 from bookworm; espeak-ng source from trixie's deb-src).
if ! command -v emcc >/dev/null || ! command -v cmake >/dev/null || ! command -v sox >/dev/null; then
  apt-get update && apt-get install -y emscripten cmake make gcc g++ python3 sox
fi
if [ ! -d "$SRC" ]; then
  if ! apt-cache showsrc espeak-ng 2>/dev/null | grep -q "^Version: $VERSION"; then
    cat > /etc/apt/sources.list.d/debian-src-trixie.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update
  fi
  mkdir -p "$BUILD/src"
  (cd "$BUILD/src" && apt-get source --download-only "espeak-ng=$VERSION" && tar xzf espeak-ng_1.52.0+dfsg.orig.tar.gz)
fi

# The command-line tool compiles phoneme data at 22050 Hz: make it RATE.
sed -i "s/espeak_ng_CompilePhonemeData\(Path\)\?([0-9]*,/espeak_ng_CompilePhonemeData\1($RATE,/" "$SRC/src/espeak-ng.c"

# Options shared by both builds: no async thread, no mbrola, no pcaudiolib, no sonic
# (SONIC_LIB/SONIC_INC are set to a dummy so cmake does not try to fetch sonic from git), and no
# klatt or speechPlayer: they run at a fixed 22050 Hz, and only voice variants the engine does not
# offer use them.
CMAKE_OPTS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DUSE_ASYNC=OFF -DUSE_MBROLA=OFF
  -DUSE_LIBPCAUDIO=OFF -DUSE_LIBSONIC=OFF -DSONIC_LIB=none -DSONIC_INC=none -DPCAUDIO_LIB= -DMBROLA_BIN=
  -DUSE_KLATT=OFF -DUSE_SPEECHPLAYER=OFF -DBUILD_TESTING=OFF)

# 2. A native espeak-ng, only to compile the data (phonemes, intonations, the four dictionaries).
if [ ! -x "$NATIVE/src/espeak-ng" ]; then
  cmake -S "$SRC" -B "$NATIVE" "${CMAKE_OPTS[@]}"
  $NICE cmake --build "$NATIVE" --target espeak-ng-bin -j"$JOBS"
fi
if [ ! -f "$DATA/en_dict" ]; then
  rm -rf "$BUILD/data" && mkdir -p "$DATA/voices" "$BUILD/data/dict"
  cp -r "$SRC/espeak-ng-data/lang" "$DATA/"
  cp -r "$SRC/espeak-ng-data/voices/!v" "$DATA/voices/"
  export ESPEAK_DATA_PATH="$BUILD/data"
  cp -r "$SRC/phsource" "$BUILD/data/"   # --compile-phonemes reads <data>/../phsource
  # Its sound files (22050 Hz, 16-bit mono WAV, read with a 44-byte header) resampled to RATE.
  find "$BUILD/data/phsource" -type f -print0 | while IFS= read -r -d '' f; do
    if [ "$(head -c 4 "$f")" = RIFF ]; then
      sox -R -D -t wav "$f" -r "$RATE" -t wav "$f.tmp" && mv "$f.tmp" "$f"
      [ "$(dd if="$f" bs=1 skip=36 count=4 2>/dev/null)" = data ] || { echo "unexpected WAV header: $f" >&2; exit 1; }
    fi
  done
  (cd "$BUILD/data/phsource" && $NICE "$NATIVE/src/espeak-ng" --compile-intonations && $NICE "$NATIVE/src/espeak-ng" --compile-phonemes)
  for lang in $LANGS; do
    cp "$SRC/dictsource/${lang}_"* "$BUILD/data/dict/"
    if [ -f "$SRC/dictsource/extra/${lang}_listx" ]; then cp "$SRC/dictsource/extra/${lang}_listx" "$BUILD/data/dict/"; fi
    (cd "$BUILD/data/dict" && $NICE "$NATIVE/src/espeak-ng" --compile="$lang")
  done
  rm -f "$DATA/phondata-manifest"
  # Keep only the language files of the languages built (lang/<family>/<name>).
  find "$DATA/lang" -type f | while read -r f; do
    case "$(basename "$f")" in en|en-*|de|fr|es) ;; *) rm "$f" ;; esac
  done
  find "$DATA/lang" -type d -empty -delete
fi

# 3. libespeak-ng compiled to wasm objects by emscripten.
if [ ! -f "$WASM/src/libespeak-ng/libespeak-ng.a" ]; then
  emcmake cmake -S "$SRC" -B "$WASM" "${CMAKE_OPTS[@]}" -DCMAKE_C_FLAGS="-O3" -DCMAKE_CXX_FLAGS="-O3"
  $NICE cmake --build "$WASM" --target espeak-ng -j"$JOBS"
fi

# 4. Link the glue (glue/espeak-glue.c + glue/*.js) into an ES module with a real .wasm and a data file beside it.
rm -rf "$DIST" && mkdir -p "$DIST"
# The data package's loader runs after glue/pre.js (which tells it where espeak-ng.data lies).
(cd "$DIST" && python3 /usr/share/emscripten/tools/file_packager.py espeak-ng.data \
  --preload "$DATA@/usr/share/espeak-ng-data" --js-output="$BUILD/data-package.js")
mapfile -t LIBS < <(find "$WASM/src" -name '*.a' | sort)
$NICE emcc -O3 "$HERE/glue/espeak-glue.c" -I"$SRC/src/include" "${LIBS[@]}" \
  -o "$DIST/espeak-ng.js" \
  -sWASM=1 -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createEspeak -sENVIRONMENT=node \
  -sALLOW_MEMORY_GROWTH=1 -sALLOW_TABLE_GROWTH=1 -sINITIAL_MEMORY=16MB -sTOTAL_STACK=512KB \
  -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0 -sFILESYSTEM=1 \
  -sEXPORTED_FUNCTIONS=_malloc,_free \
  -sEXPORTED_RUNTIME_METHODS=addFunction,removeFunction,UTF8ToString,stringToUTF8,lengthBytesUTF8,FS,stackSave,stackRestore \
  --extern-pre-js "$HERE/glue/extern-pre.js" --pre-js "$HERE/glue/pre.js" --pre-js "$BUILD/data-package.js" \
  --post-js "$HERE/glue/post.js" -sFORCE_FILESYSTEM=1
# What the engine names as its build (engine.build): eSpeak NG's source package and the compiler.
EMCC_VERSION="$(emcc --version | sed -n '1s/.* \([0-9][0-9.]*\) .*/\1/p')"
printf '{\n  "espeakNg": "%s",\n  "emscripten": "%s",\n  "sampleRate": %s,\n  "languages": "%s"\n}\n' "$VERSION" "$EMCC_VERSION" "$RATE" "$LANGS" > "$DIST/build.json"
ls -l "$DIST"
