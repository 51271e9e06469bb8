/**
 * Helpers for testing code that calls a voxpipe server: start a real one on
 * 127.0.0.1 with an engine and a key, call it, close it.
 *
 * @module @voxpipe/server/testing
 */
export { startTestServer, TEST_KEY, type TestServer, type TestServerOptions } from './test-server.js';
export { toneEngine, type ToneEngine, type ToneEngineOptions } from './tone-engine.js';
