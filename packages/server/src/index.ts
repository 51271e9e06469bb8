/**
 * The reference /v1/tts/stream server, built from voxpipe stages. This file is the package's table of contents.
 *
 * @module @voxpipe/server
 */
export { createServer, type CorsOptions, type ListenOptions, type ListeningServer, type Logger, type ServerOptions, type VoxpipeServer } from './server.js';
export { MODELS, DEFAULT_MODEL, buildVoiceCatalog, type ModelInfo, type PublicVoice, type AudioFormatName } from './catalog.js';
export type { ServerLimitsInput as ServerLimits } from './request-schema.js';
export { ApiError, type ApiErrorBody } from './api-error.js';
export { type ServerHooks, type AuthBlock, type AuthThrottle } from './server.js';
export { memoryAuthThrottle, type MemoryAuthThrottleOptions } from './auth-throttle.js';
export { MemoryLimiter, type Limiter, type LimiterOptions, type Admission, type Refusal } from './limiter.js';
export { connectRedis, type RedisOptions, type SharedRedis } from './redis-connection.js';
export { redisLimiter } from './redis-limiter.js';
export { redisAuthThrottle } from './redis-auth-throttle.js';
export type { RequestLine } from './logger.js';
export { jsonLogger, type JsonLoggerOptions } from './json-logger.js';
export { audioCache, type AudioCache } from './audio-cache.js';
export type { MetricsOptions } from './server-options.js';
export { serverLimits } from './request-schema.js';
export { loadEngine, DEFAULT_ENGINE_MODULE } from './engine-loader.js';
export { createTokenSigner, normalOrigin, DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, type TokenClaims, type TokenSigner } from './tokens.js';
export { oggOpusEncode } from './ogg-opus-encode.js';
