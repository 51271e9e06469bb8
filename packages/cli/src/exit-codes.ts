import type { ErrorCode } from '@voxpipe/core';

/** One exit status per error code, so scripts can tell failures apart. */
export const EXIT_CODES: Record<ErrorCode | 'usage', number> = {
  internal: 1,
  'bad-request': 2,
  auth: 3,
  'rate-limit': 4,
  network: 5,
  server: 6,
  decode: 7,
  format: 8,
  device: 9,
  'resume-mismatch': 10,
  usage: 64,
  aborted: 130,
};
