import { anyPcm } from '../format.js';
import type { PcmChunk } from '../pcm/pcm.js';
import { transformStage, type TransformStage } from '../stage.js';

/** What a tracked stage counts: runs opened, and runs whose cleanup ran. */
export interface TrackedLog {
  opened: number;
  released: number;
}

/**
 * A pass-through PCM stage that holds a timer and a deferred cleanup in every
 * run, and counts both in `log`: a run that ends however it ends must leave
 * `released === opened`. With `failAt`, it throws on that chunk (0-based).
 *
 * ```ts
 * const log = { opened: 0, released: 0 };
 * await pipeline(tone(), trackedStage(log), collect()).done; // log.released === log.opened
 * ```
 */
export function trackedStage(log: TrackedLog, failAt?: number): TransformStage<PcmChunk, PcmChunk> {
  return transformStage<PcmChunk, PcmChunk>({
    name: 'tracked',
    takes: anyPcm,
    gives: (format) => format,
    transformer: (ctx) => {
      log.opened++;
      const timer = setInterval(() => {}, 1000);
      ctx.defer(() => {
        clearInterval(timer);
        log.released++;
      });
      let seen = 0;
      return {
        transform(chunk, controller) {
          if (failAt !== undefined && seen++ === failAt) throw new Error('boom');
          controller.enqueue(chunk);
        },
      };
    },
  });
}
