import type { RunMetrics } from '@voxpipe/core';

const ms = (value: number | undefined) => (value === undefined ? '—' : `${value.toFixed(1)} ms`);

/** The latency summary printed after `say`. */
export function latencySummary(metrics: RunMetrics): string {
  const from = metrics.requestMs ?? 0;
  const since = (value: number | undefined) => (value === undefined ? undefined : value - from);
  const rtf = metrics.realTimeFactor;
  const lines = [
    `time to first byte   ${ms(since(metrics.firstByteMs))}`,
    `first audio          ${ms(since(metrics.firstAudioMs))}`,
    `first audible        ${ms(since(metrics.firstAudibleMs))}`,
    `total                ${ms(since(metrics.endMs))}`,
    `audio                ${(metrics.audioMs / 1000).toFixed(2)} s, ${metrics.bytes} bytes`,
    `real-time factor     ${rtf === undefined ? '—' : `${rtf.toFixed(3)} (${(1 / rtf).toFixed(1)}× real time)`}`,
  ];
  if (metrics.reconnects > 0 || metrics.retries > 0) lines.push(`reconnects / retries ${metrics.reconnects} / ${metrics.retries}`);
  if (metrics.underruns > 0) lines.push(`underruns            ${metrics.underruns}`);
  return lines.join('\n');
}

/** One progress line: bytes, audio seconds, real-time factor so far. */
export function progressLine(metrics: RunMetrics, nowMs: number): string {
  const audio = metrics.audioMs / 1000;
  const elapsed = (nowMs - (metrics.requestMs ?? 0)) / 1000;
  const speed = audio > 0 && elapsed > 0 ? `${(audio / elapsed).toFixed(1)}× real time` : '';
  return `${(metrics.bytes / 1024).toFixed(1)} KiB  ${audio.toFixed(2)} s audio  ${speed}`;
}
