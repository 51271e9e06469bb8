import { VoxpipeError } from '@voxpipe/core';
import { describe, expect, it } from 'vitest';
import { lineAndColumn, parseSpec } from './run-spec.js';

describe('parseSpec', () => {
  it('names the file, the line and the column of malformed JSON', () => {
    const text = '{"stages": [\n  {"stage": "tone"},\n  {"stage" "wavFile"}\n]}';
    const error = (() => {
      try {
        parseSpec(text, 'broken.json');
      } catch (e) {
        return e as VoxpipeError;
      }
    })();
    expect(error).toBeInstanceOf(VoxpipeError);
    expect(error!.code).toBe('bad-request');
    expect(error!.message).toMatch(/^Spec broken\.json is not valid JSON at line 3, column 12: /);
    expect(() => parseSpec('{"stages": [', 'cut.json')).toThrow(/^Spec cut\.json is not valid JSON at line 1, column 13/);
  });

  it('wants an object with a stages array', () => {
    expect(() => parseSpec('[1, 2]', 'list.json')).toThrow(/Spec list\.json must be a JSON object with a "stages" array/);
    expect(parseSpec('{"stages": []}', 'empty.json')).toEqual({ stages: [] });
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
