/**
 * Property-testing helpers for stages (yours and ours). Needs fast-check.
 *
 * @module @voxpipe/core/testing
 */
export { acceptedWhileStalled, runTransform, settleTurns, testContext, type TestContext } from './harness.js';
export { arbitraryPcm, bytePartitions, cutBytes, cutPcm, joinBytes, pcmPartitions, seededBytes } from './arbitraries.js';
export { acceptedAfterReads, failureOf } from './harness.js';
export { abortAtAnyPoint, runAbortedAtAnyPull, type AbortSubject } from './abort-properties.js';
export { trackedStage, type TrackedLog } from './tracked-stage.js';
export { endlessSource, type EndlessSource } from './endless-source.js';
export { arbitraryMarkedPcm, landedMarks, marksLandAlike, runChain, type LandedMark } from './marks.js';
export { spokenWords, type SpokenWords, type SpokenWordsOptions } from './spoken-words.js';
