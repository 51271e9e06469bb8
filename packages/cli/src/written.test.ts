import { describe, expect, it } from 'vitest';
import { describeWritten, interruptedLine, keptLine } from './written.js';

describe('what say wrote, in words', () => {
  it('gives seconds and bytes, and where', () => {
    expect(describeWritten({ to: 'hi.wav', bytes: 59_040, audioMs: 1230 })).toBe('wrote 1.23 s (59,040 bytes) to hi.wav');
    expect(describeWritten({ to: 'hi.mp3', bytes: 12_345 })).toBe('wrote 12,345 bytes to hi.mp3');
    expect(describeWritten({ to: 'player', bytes: 96_000, audioMs: 2000 })).toBe('played 2.00 s');
  });

  it('says what an interruption left, and that nothing was written when nothing was', () => {
    expect(interruptedLine({ to: 'hi.wav', bytes: 59_040, audioMs: 1230 })).toBe('voxpipe: interrupted; wrote 1.23 s (59,040 bytes) to hi.wav');
    expect(interruptedLine({ to: 'hi.wav', bytes: 0, audioMs: 0 })).toBe('voxpipe: interrupted before any audio; hi.wav was not written');
    expect(interruptedLine({ to: 'player', bytes: 0, audioMs: 0 })).toBe('voxpipe: interrupted before any audio');
  });

  it('mentions a kept file after a failure only when it holds audio', () => {
    expect(keptLine({ to: 'hi.wav', bytes: 4800, audioMs: 100 })).toBe('voxpipe: kept what arrived before the failure: wrote 0.10 s (4,800 bytes) to hi.wav');
    expect(keptLine({ to: 'hi.wav', bytes: 0, audioMs: 0 })).toBeUndefined();
    expect(keptLine({ to: 'stdout', bytes: 4800, audioMs: 100 })).toBeUndefined();
  });
});
