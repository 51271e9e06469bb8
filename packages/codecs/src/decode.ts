import { VoxpipeError, anyBytes, checkOptions, markWords, optionRules, pcmFrames, type OptionRules, transformStage, type Container, type Format, type PcmChunk, type StageContext, type TransformStage } from '@voxpipe/core';
import { concatBytes, type InnerDecoder } from './inner-decoder.js';
import { isLoadedCodec, loadDecoder, preloadDecoder } from './load-decoder.js';
import { RawDecoder } from './raw-decoder.js';
import { sniffContainer } from './sniff.js';
import { WavDecoder } from './wav-decoder.js';

/** What `decode` is given. Checked without a schema library, so a browser player stays small. */
export interface DecodeOptions {
  /** How to read bytes that have no header and no declared format (raw PCM). */
  fallback?: {
    encoding?: 's16le' | 'f32le';
    /** 1000 to 384000 Hz. */
    sampleRate?: number;
    /** 1 to 32. */
    channels?: number;
  };
}

const rules: OptionRules<DecodeOptions> = {
  fallback: optionRules.shape<NonNullable<DecodeOptions['fallback']>>({
    encoding: optionRules.oneOf(['s16le', 'f32le']),
    sampleRate: optionRules.numberIn(1000, 384000, true),
    channels: optionRules.numberIn(1, 32, true),
  }),
};

const DEFAULT_RAW = { encoding: 's16le', sampleRate: 24000, channels: 1 } as const;
const HEADERLESS: ReadonlySet<Container | undefined> = new Set<Container | undefined>(['pcm', 'mulaw', 'alaw']);

/**
 * Turns encoded audio bytes into PCM: MP3, Ogg Opus, FLAC, Ogg Vorbis, WAV,
 * raw PCM, µ-law or A-law. Use it right after a source. The container comes
 * from the format the source declared (e.g. a response's Content-Type) or the
 * pipeline's static format; when neither says, the first bytes decide (ID3 or
 * an MPEG frame → MP3, `fLaC` → FLAC, an Ogg page → its codec, RIFF/WAVE →
 * WAV, anything else → raw PCM as `fallback` says, by default s16le 24 kHz
 * mono). The WASM decoders (MP3, Opus, FLAC, Vorbis) are imported the first
 * time a run needs one, starting as soon as the source declares the format
 * (before its first byte), so a page that plays only PCM loads none of them.
 * Decode problems that can be skipped are `warning` events; unusable input
 * fails the run with a `decode` error. Words the source learned
 * (`ttsSource({ timestamps: true })`) come out as `marks` on the chunks, each
 * on its first sample: frame round(start × rate) of the decoded stream.
 *
 * ```ts
 * pipeline(fromBytes(mp3), decode(), collect());
 * pipeline(httpSource(url), decode({ fallback: { sampleRate: 16000 } }), speaker());
 * ```
 */
export function decode(options: DecodeOptions = {}): TransformStage<Uint8Array, PcmChunk> {
  const parsed = checkOptions('decode', options, rules);
  const fallback = parsed.fallback ?? {};
  const raw = { ...DEFAULT_RAW, ...fallback };
  return transformStage<Uint8Array, PcmChunk>({
    name: 'decode',
    takes: anyBytes,
    gives: (input) => {
      const out: Format = { kind: 'pcm' };
      if (HEADERLESS.has(input.container)) {
        const g711 = input.container !== 'pcm';
        out.sampleRate = input.sampleRate ?? fallback.sampleRate ?? (g711 ? 8000 : raw.sampleRate);
        out.channels = input.channels ?? raw.channels;
      } else {
        if (input.sampleRate !== undefined) out.sampleRate = input.sampleRate;
        if (input.channels !== undefined) out.channels = input.channels;
      }
      return out;
    },
    spec: { stage: 'decode', options: { ...parsed } },
    transformer: (ctx, input) => {
      let inner: InnerDecoder | undefined;
      let head: Uint8Array = new Uint8Array(0);
      const warn = (message: string) => ctx.emit('warning', { code: 'decode', message });

      const open = async (format: Format, container: Container): Promise<InnerDecoder> => {
        if (isLoadedCodec(container)) {
          const module = await loadDecoder(container).catch((error: unknown) => {
            throw new VoxpipeError('decode', `The ${container} decoder could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
          });
          // A source that declared MP3 is trusted from its first frame; sniffed bytes were already confirmed by two headers.
          const decoder = module.createDecoder(warn, { channels: format.channels, declared: format.container === container });
          ctx.defer(() => decoder.free());
          await decoder.ready;
          return decoder;
        }
        if (container === 'ogg') throw new VoxpipeError('decode', 'The Ogg stream holds a codec other than Opus, Vorbis or FLAC');
        if (container === 'wav') return new WavDecoder(warn);
        const g711 = container === 'mulaw' || container === 'alaw';
        const encoding = g711 ? container : (format.encoding ?? raw.encoding);
        const sampleRate = format.sampleRate ?? fallback.sampleRate ?? (g711 ? 8000 : raw.sampleRate);
        return new RawDecoder(warn, encoding, sampleRate, format.channels ?? raw.channels);
      };

      /** Starts loading the decoder a format names, else (nothing named yet) the MP3 one, the likeliest. */
      const preload = (format: Format | undefined) => {
        const container = format?.container;
        if (isLoadedCodec(container)) preloadDecoder(container).catch(() => {});
        else if (container === undefined || container === 'ogg') preloadDecoder(container === 'ogg' ? 'opus' : 'mp3').catch(() => {});
      };

      /** Frames given so far: where the next chunk starts, for the run's word timings. */
      let position = 0;
      const enqueue = (chunks: PcmChunk[], controller: TransformStreamDefaultController<PcmChunk>) => {
        for (const chunk of chunks) {
          const frames = pcmFrames(chunk);
          if (frames === 0) continue;
          ctx.mark('first-audio');
          controller.enqueue(markWords(ctx, chunk, position));
          position += frames;
        }
      };

      /** Picks the decoder once enough is known; returns the bytes to feed it, or undefined to wait. */
      const choose = async (bytes: Uint8Array, ended: boolean): Promise<Uint8Array | undefined> => {
        const format = effectiveFormat(ctx, input);
        // An Ogg of no named codec: its first page tells.
        let container: Container | undefined = format.container === 'ogg' ? undefined : format.container;
        const all = concatBytes(head, bytes);
        if (!container) {
          container = sniffContainer(all, ended);
          if (!container) {
            head = all.slice();
            return undefined;
          }
          if (format.container === 'ogg' && !isLoadedCodec(container)) container = 'ogg';
        }
        head = new Uint8Array(0);
        inner = await open(format, container);
        return all;
      };

      return {
        start() {
          // What assembly or the source knows now; what the response says as soon as its headers arrive.
          if (input.container !== undefined || ctx.declared) preload(effectiveFormat(ctx, input));
          ctx.onDeclare(() => {
            if (!inner) preload(effectiveFormat(ctx, input));
          });
        },
        async transform(bytes, controller) {
          try {
            if (bytes.byteLength === 0) return;
            let feed: Uint8Array | undefined = bytes;
            if (!inner) feed = await choose(bytes, false);
            if (feed && inner) enqueue(await inner.push(feed), controller);
          } catch (error) {
            inner?.free();
            throw asDecodeError(error, ctx);
          }
        },
        async flush(controller) {
          try {
            if (!inner) {
              if (head.byteLength === 0) return;
              const feed = await choose(new Uint8Array(0), true);
              if (feed && inner) enqueue(await (inner as InnerDecoder).push(feed), controller);
            }
            if (inner) enqueue(await inner.end(), controller);
          } catch (error) {
            inner?.free();
            throw asDecodeError(error, ctx);
          }
        },
      };
    },
  });
}

/** The format to decode by: what the source declared at run time over what assembly knew. */
function effectiveFormat(ctx: StageContext, input: Format): Format {
  const declared = ctx.declared;
  if (!declared || declared.kind !== 'bytes') return input;
  const out: Format = { ...input };
  for (const key of ['container', 'encoding', 'sampleRate', 'channels'] as const) {
    if (declared[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = declared[key];
  }
  return out;
}

/** Whatever went wrong, as a VoxpipeError naming this stage (`decode` unless it says otherwise). */
function asDecodeError(error: unknown, ctx: StageContext): VoxpipeError {
  if (error instanceof VoxpipeError) {
    return error.stage ? error : new VoxpipeError(error.code, error.message, { stage: ctx.stage, cause: error.cause ?? error, retryable: error.retryable });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new VoxpipeError('decode', message, { stage: ctx.stage, cause: error });
}
