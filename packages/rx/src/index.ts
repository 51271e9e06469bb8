/**
 * The table of contents: WHATWG streams <-> rxjs, run events, and voice-app operators.
 *
 * @module @voxpipe/rx
 */
export { fromReadable } from './from-readable.js';
export { toReadable, type OverflowPolicy, type ToReadableOptions } from './to-readable.js';
export { observableSource, type ObservableSourceOptions } from './observable-source.js';
export { runEvents, type RunEventsOptions } from './run-events.js';
export { audioOnly, UtteranceRun, type Say, type UtteranceEvent } from './utterance.js';
export { queue } from './queue.js';
export { bargeIn, type BargeInOptions } from './barge-in.js';
export { sayWith, type Speakable } from './say-with.js';
// The rxjs this package is built on, for apps that do not install their own.
export { Observable, Subject } from 'rxjs';
