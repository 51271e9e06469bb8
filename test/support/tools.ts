import { execFileSync } from 'node:child_process';

/**
 * Whether a command-line tool runs here (`tool -version`, or the flag given),
 * for tests that cross-check against Debian's tools. When it does not, warns
 * once naming the tests skipped and the package that brings the tool, so a
 * skip is never silent.
 */
export function hasTool(tool: string, skipped: string, versionFlag = '-version'): boolean {
  try {
    execFileSync(tool, [versionFlag], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn(`${skipped}: skipped, no ${tool} on PATH (apt-get install ${tool})`);
    return false;
  }
}
