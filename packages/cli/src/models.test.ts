import { describe, expect, it } from 'vitest';
import { checkModel, closestModel, editDistance } from './models.js';

describe('checkModel', () => {
  it('passes the listed models in any case, and other aura-* names', () => {
    for (const name of ['aura-lite', 'aura', 'aura-2', 'rapid-max', 'rapid-flash', 'AURA-LITE', 'aura-asteria-en', 'aura-3']) expect(() => checkModel(name)).not.toThrow();
  });

  it('takes an aura-* name within two edits of a listed model for a typo, naming it', () => {
    expect(() => checkModel('aura-lit')).toThrow(/^Unknown model "aura-lit"; did you mean "aura-lite"\? Models: aura-lite, aura, aura-2, rapid-max, rapid-flash, and other aura-\* names\.$/);
    expect(() => checkModel('aura-lte')).toThrow(/did you mean "aura-lite"/);
  });

  it('refuses other names, listing the models and the closest', () => {
    expect(() => checkModel('rapid-flsh')).toThrow(/did you mean "rapid-flash"/);
    expect(() => checkModel('nope-9')).toThrow(/^Unknown model "nope-9"; the closest is "[a-z0-9-]+"\. Models: aura-lite/);
    expect(closestModel('rapidmax')).toBe('rapid-max');
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
