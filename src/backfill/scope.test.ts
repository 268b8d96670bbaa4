import { describe, expect, it } from 'vitest';
import { backfillLockKey, checkScopeKeys, parseScope, scopeKey } from './scope.js';

describe('backfill scope', () => {
  it('parses KEY=VALUE pairs; values may hold = and spaces', () => {
    expect(parseScope(['repo_id=3', 'path=a=b c'])).toEqual({ repo_id: '3', path: 'a=b c' });
    for (const bad of [['repo_id'], ['=3'], ['repo_id='], ['1x=3'], ['a-b=1'], ['a=1', 'a=2']]) {
      expect(() => parseScope(bad), bad.join(' ')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
  it('gives one checkpoint key and one lock per scope, whatever the order of the flags', () => {
    expect(scopeKey({ b: '2', a: 'x&y' })).toBe('a=x%26y&b=2');
    expect(scopeKey({})).toBe('');
    expect(backfillLockKey('fill', { a: '1', b: '2' })).toBe(backfillLockKey('fill', { b: '2', a: '1' }));
    expect(backfillLockKey('fill', { a: '1' })).not.toBe(backfillLockKey('fill', { a: '2' }));
    expect(backfillLockKey('fill', {})).not.toBe(backfillLockKey('other', {}));
    // Above every 32-bit migration lock key, and a valid bigint.
    expect(backfillLockKey('fill', {}) >= 2n ** 62n && backfillLockKey('fill', {}) < 2n ** 63n).toBe(true);
  });
  it('refuses scope keys the backfill does not declare', () => {
    expect(() => checkScopeKeys({ repo_id: '1' }, ['repo_id'], 'b')).not.toThrow();
    expect(() => checkScopeKeys({ tenant: '1' }, ['repo_id'], 'b')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', hint: 'it takes: repo_id' }));
  });
});
