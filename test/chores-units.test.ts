import { describe, expect, it } from 'vitest';
import { parseServerVersion, splitList } from '../src/config.js';
import { backfillLockKey, checkScopeKeys, parseScope, scopeKey } from '../src/backfill/scope.js';
import { asBackfill, batchResultProblem, countValue } from '../src/backfill/contract.js';
import { jsonValue } from '../src/chores/query.js';
import { alignedTable, csvLine, prettySize } from '../tasks/lib/format/table.js';
import { clock, progressBar, progressText } from '../tasks/lib/format/backfill.js';
import { listValues, rawValues, splitOwnFlags } from '../tasks/lib/cli.js';

describe('configuration values', () => {
  it.each([['18', 180000], ['16.4', 160004], ['9.6', 90600], ['9.6.24', 90624], [' 17 ', 170000]])('version %s is %i', (text, num) => {
    expect(parseServerVersion(text, 'x').num).toBe(num);
  });
  it.each(['', 'x', '16.4.1', '18beta', '100'])('refuses version %j', (text) => {
    expect(() => parseServerVersion(text, 'TIDEMARK_MIN_PG_VERSION')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', operation: 'read TIDEMARK_MIN_PG_VERSION' }));
  });
  it('splits extension lists on commas and spaces', () => {
    expect(splitList(' pg_trgm, citext  postgis,')).toEqual(['pg_trgm', 'citext', 'postgis']);
    expect(splitList(undefined)).toEqual([]);
  });
});

describe('backfill scope and contract', () => {
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
  it('accepts named exports or a default object, and names every missing part', () => {
    const batch = async () => ({ rows: 0, next: null });
    const count = async () => 0;
    expect(asBackfill({ description: ' d ', count, batch }, 'n', 'f').description).toBe('d');
    expect(asBackfill({ default: { description: 'd', count, batch, scopeKeys: ['k'] } }, 'n', 'f').scopeKeys).toEqual(['k']);
    expect(() => asBackfill({ description: '', scopeKeys: 'k' }, 'n', 'f.ts')).toThrow(expect.objectContaining({
      code: 'BACKFILL_INVALID',
      reason: '`description` must be a non-empty string; `count(ctx)` must be an exported function; `batch(ctx, cursor)` must be an exported function; `scopeKeys`, when given, must be an array of names',
    }));
  });
  it('checks what batch() and count() return', () => {
    expect(batchResultProblem({ rows: 10, next: '10' }, '0')).toBeUndefined();
    expect(batchResultProblem({ rows: '10', next: null }, '0')).toBeUndefined();
    expect(batchResultProblem({ rows: 1, next: [5, 'b'] }, [5, 'a'])).toBeUndefined();
    expect(batchResultProblem(undefined, null)).toBe('batch() must return { rows, next }');
    expect(batchResultProblem({ rows: -1, next: null }, null)).toMatch(/rows = -1/);
    expect(batchResultProblem({ rows: 1 }, null)).toMatch(/no `next`/);
    expect(batchResultProblem({ rows: 1, next: 5n }, null)).toMatch(/not JSON/);
    expect(batchResultProblem({ rows: 0, next: { id: 3 } }, { id: 3 })).toMatch(/the cursor it was given/);
    expect([countValue(3), countValue('42'), countValue(7n), countValue(-1), countValue(1.5), countValue('x')]).toEqual([3, 42, 7, undefined, undefined, undefined]);
  });
});

describe('printing', () => {
  it('aligns a table as psql does, numbers to the right, a multi-line cell on one line', () => {
    expect(alignedTable(['id', 'name'], [['1', 'a'], ['100', null], ['7', 'two\nlines']], [true])).toEqual([
      ' id  | name',
      '-----+------',
      '   1 | a',
      ' 100 |',
      '   7 | two…',
    ]);
  });
  it('quotes CSV fields only when needed', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', null, 'x\ny', ''])).toBe('a,"b,c","say ""hi""",,"x\ny",');
  });
  it('rounds sizes as pg_size_pretty', () => {
    expect([prettySize(0), prettySize(10_239), prettySize(10_240), prettySize(8_192 * 1024), prettySize(20 * 1024 ** 3)]).toEqual(['0 bytes', '10239 bytes', '10 kB', '8192 kB', '20 GB']);
  });
  it('shows progress with rate and ETA, and a bar', () => {
    expect(progressText({ runRows: 25_000, total: 100_000, elapsedMs: 2_000 })).toBe('25,000/100,000 rows (25%), 12,500 rows/s, ETA 0:06');
    expect(progressText({ runRows: 5, total: null, elapsedMs: 1_000 })).toBe('5 rows, 5 rows/s');
    expect(progressText({ runRows: 0, total: 0, elapsedMs: 10 })).toBe('0/0 rows (100%), 0 rows/s, ETA 0:00');
    expect(progressBar({ runRows: 50, total: 100, elapsedMs: 1 }, 10)).toBe('[#####.....]');
    expect([clock(5), clock(65), clock(3_725)]).toEqual(['0:05', '1:05', '1:02:05']);
  });
});

describe('command lines', () => {
  it('reads flag values exactly as typed', () => {
    const argv = ['--min-version', '16.10', '--scope=a=1', '--scope', 'b=2', '--json', '--', '--scope', 'c=3'];
    expect(rawValues('--min-version', argv)).toEqual(['16.10']);
    expect(rawValues('--scope', argv)).toEqual(['a=1', 'b=2']);
    expect(rawValues('--scope', ['--scope', '--json'])).toEqual(['']);
    expect(listValues('--extension', ['--extension', 'a,b', '--extension', ' c '])).toEqual(['a', 'b', 'c']);
    expect(listValues('--extension', [])).toBeUndefined();
  });
  it('keeps its own flags and passes the rest on', () => {
    expect(splitOwnFlags(['-X', '--embedded', '--env-file', 'p.env', '-c', 'SELECT 1', '--', '--help'], ['--embedded', '--help'], ['--env-file'])).toEqual({
      own: ['--embedded', '--env-file', 'p.env'], rest: ['-X', '-c', 'SELECT 1', '--help'],
    });
    expect(splitOwnFlags(['--env-file=x.env', '--help'], ['--help'], ['--env-file'])).toEqual({ own: ['--env-file=x.env', '--help'], rest: [] });
  });
});

describe('query values as JSON', () => {
  it('keeps what JSON can hold exactly, the rest as text', () => {
    expect([jsonValue('t', 16), jsonValue('42', 23), jsonValue('1.5', 701), jsonValue('NaN', 701), jsonValue('9007199254740993', 20), jsonValue('{"a":1}', 3802), jsonValue(null, 23)])
      .toEqual([true, 42, 1.5, 'NaN', '9007199254740993', { a: 1 }, null]);
  });
});
