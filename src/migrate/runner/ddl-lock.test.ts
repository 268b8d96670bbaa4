import { describe, expect, it } from 'vitest';
import { backoffMs, ownLockTimeout, stepLockTimeout } from './ddl-lock.js';
import { concurrentKind } from './concurrent-index.js';

describe('the pause before a retry', () => {
  it('doubles from 1 s, ±25 %, at most 30 s', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(1, () => 0)).toBe(750);
    expect(backoffMs(1, () => 1)).toBe(1250);
    expect(backoffMs(3, () => 0)).toBe(3000);
    expect(backoffMs(10, () => 0.5)).toBe(30_000);
    expect(backoffMs(40, () => 1)).toBe(37_500);
  });
});

describe('a file that sets its own lock_timeout', () => {
  it.each([
    ["SET LOCAL lock_timeout = '2s';\nALTER TABLE t ADD c int;", 2000],
    ['SET lock_timeout TO 1500;\nALTER TABLE t ADD c int;', 1500],
    ["set session lock_timeout = '1min'; ALTER TABLE t ADD c int;", 60_000],
    ["SET lock_timeout = '3s'; ALTER TABLE a ADD c int; SET lock_timeout = '500ms'; ALTER TABLE b ADD c int;", 500],
    ['SET lock_timeout = 0; ALTER TABLE t ADD c int;', 0],
    ['RESET lock_timeout; ALTER TABLE t ADD c int;', 0],
    ["SELECT set_config('lock_timeout', '1s', true); ALTER TABLE t ADD c int;", 0],
  ])('keeps it: %j → %d ms', async (sql, ms) => {
    expect(await ownLockTimeout(sql)).toBe(ms);
    expect(await stepLockTimeout(5000, sql)).toEqual({ ms, source: 'migration' });
  });

  it.each([
    'ALTER TABLE t ADD c int;',
    "-- no SET lock_timeout here\nALTER TABLE t ADD c int;",
    "INSERT INTO notes VALUES ('SET lock_timeout = 1');",
    'ALTER ROLE app SET lock_timeout = 1000;',
  ])('does not: %j', async (sql) => {
    expect(await ownLockTimeout(sql)).toBeUndefined();
    expect(await stepLockTimeout(5000, sql)).toEqual({ ms: 5000, source: 'tidemark' });
    expect(await stepLockTimeout(0, sql)).toEqual({ ms: 0, source: 'none' });
  });
});

describe('statements that commit part-way', () => {
  it('tells CREATE INDEX CONCURRENTLY (with its table and name) from those that are not retried', async () => {
    expect(await concurrentKind('CREATE INDEX CONCURRENTLY i ON s.t (a)')).toEqual({ kind: 'create-index', target: { schema: 's', table: 't', index: 'i' } });
    expect(await concurrentKind('create unique index concurrently on "T" (a)')).toEqual({ kind: 'create-index', target: { schema: undefined, table: 'T', index: undefined } });
    expect(await concurrentKind('REINDEX INDEX CONCURRENTLY i')).toEqual({ kind: 'other', statement: 'REINDEX CONCURRENTLY' });
    expect(await concurrentKind('ALTER TABLE p DETACH PARTITION c CONCURRENTLY')).toEqual({ kind: 'other', statement: 'DETACH PARTITION CONCURRENTLY' });
    expect(await concurrentKind('DROP INDEX CONCURRENTLY i')).toEqual({ kind: 'none' });
    expect(await concurrentKind('CREATE INDEX i ON t (a) -- not concurrently')).toEqual({ kind: 'none' });
    expect(await concurrentKind('CREATE INDEX i ON t (a)')).toEqual({ kind: 'none' });
  });
});
