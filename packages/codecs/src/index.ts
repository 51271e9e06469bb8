/**
 * MP3, Opus, FLAC, Vorbis, WAV and G.711 decode stages and MP3, WAV and G.711 encode stages for voxpipe. This file is the package's table of contents.
 *
 * @module @voxpipe/codecs
 */
// decoding: bytes → PCM
export { decode, type DecodeOptions } from './decode.js';
export { sniffContainer, type Sniffed } from './sniff.js';
export { readMpegHeader, type MpegFrameHeader } from './mpeg-header.js';
export { oggPage, OggPacketReader, type OggPacket, type OggPageInput } from './ogg-page.js';
export { liveDecoders, liveMp3Decoders, type WasmCodec } from './live-decoders.js';
export { preloadDecoder, warmMp3Decoders, type LoadedCodec } from './load-decoder.js';
// encoding: PCM → bytes
export { mp3Encode, warmMp3Encoders, type Mp3EncodeOptions } from './mp3-encode.js';
export { wavEncode, wavHeader, patchWavSizes, WAV_HEADER_BYTES, type WavEncodeOptions, type WavHeaderOptions } from './wav-encode.js';
// G.711 µ-law / A-law
export { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from './g711.js';
export { alawDecode, alawEncode, mulawDecode, mulawEncode, type G711DecodeOptions } from './g711-stages.js';
// registry of every codecs stage that can be written as data
export { codecStages } from './registry.js';
