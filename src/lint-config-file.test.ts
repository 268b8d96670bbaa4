import { describe, expect, it } from 'vitest';
import { TidemarkError } from './errors.js';
import { parseLintConfig } from './lint-config-file.js';

function failure(text: string): TidemarkError {
  try {
    parseLintConfig('tidemark.lint.json', text);
  } catch (err) {
    return err as TidemarkError;
  }
  throw new Error('expected a failure');
}

describe('parseLintConfig', () => {
  it('reads the version and the rules', () => {
    expect(parseLintConfig('f.json', '{"$schema": "x", "pgVersion": 15, "rules": {"truncate": "off", "drop-table": "error"}}'))
      .toEqual({ file: 'f.json', pgVersion: 15, rules: { truncate: 'off', 'drop-table': 'error' } });
  });

  it('names the key that is wrong, with CONFIG_INVALID', () => {
    expect(failure('{"rules": {"truncat": "off"}}')).toMatchObject({ code: 'CONFIG_INVALID', reason: '"rules.truncat" is not a lint rule' });
    expect(failure('{"rules": {"truncate": "fatal"}}').reason).toBe('"rules.truncate" must be one of error, warning, notice, off, not "fatal"');
    expect(failure('{"pgVersion": "15.2"}').reason).toBe('"pgVersion": "15.2" is not a PostgreSQL major version (such as 15 or 18)');
    expect(failure('{"severity": {}}').reason).toBe('"severity" is not a lint setting');
    expect(failure('{"rules": []}').reason).toBe('"rules" must be an object of rule names to severities');
    expect(failure('[1]').reason).toBe('the file must hold one JSON object');
    expect(failure('{').reason).toMatch(/^not JSON: /);
  });
});
