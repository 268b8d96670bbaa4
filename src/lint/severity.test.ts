import { describe, expect, it } from 'vitest';
import { rankSeverity, sizeClass } from './severity.js';

describe('sizeClass', () => {
  it('small under 10,000 rows and 10 MB; big from 1,000,000 rows or 1 GB; an unanalyzed table by its size', () => {
    expect(sizeClass(undefined)).toBe('unknown');
    expect(sizeClass({ rows: 0, bytes: 16_384 })).toBe('small');
    expect(sizeClass({ rows: -1, bytes: 16_384 })).toBe('small');
    expect(sizeClass({ rows: 50_000, bytes: 5_000_000 })).toBe('medium');
    expect(sizeClass({ rows: 100, bytes: 20 * 1024 ** 2 })).toBe('medium');
    expect(sizeClass({ rows: 1_000_000, bytes: 100 })).toBe('big');
    expect(sizeClass({ rows: -1, bytes: 2 * 1024 ** 3 })).toBe('big');
  });
});

describe('rankSeverity', () => {
  const claims = { rewrite: 'no', scan: 'yes' } as const;
  it('a size-ranked rule is a notice on a small table, an error on a big one, its own severity otherwise', () => {
    expect(rankSeverity({ rule: 'drop-index-not-concurrent', ...claims }, 'small')).toBe('notice');
    expect(rankSeverity({ rule: 'drop-index-not-concurrent', ...claims }, 'big')).toBe('error');
    expect(rankSeverity({ rule: 'drop-index-not-concurrent', ...claims }, 'medium')).toBe('warning');
    expect(rankSeverity({ rule: 'drop-index-not-concurrent', ...claims }, 'unknown')).toBe('warning');
  });

  it('a fixed rule ignores the size; a maybe is at most a warning; the configuration wins', () => {
    expect(rankSeverity({ rule: 'concurrently-in-transaction', ...claims }, 'small')).toBe('error');
    expect(rankSeverity({ rule: 'column-type-rewrites', rewrite: 'maybe', scan: 'maybe' }, 'big')).toBe('warning');
    expect(rankSeverity({ rule: 'column-type-rewrites', rewrite: 'yes', scan: 'yes' }, 'small', 'error')).toBe('error');
    expect(rankSeverity({ rule: 'truncate', ...claims }, 'big', 'off')).toBeUndefined();
  });
});
