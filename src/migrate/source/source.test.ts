import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseMigrationName, parseMigrationFileName, parseVersionArgument } from './parse.js';
import { inlineMigrations, readMigrationDir } from './index.js';
import { migrationsDir } from '../../../test/helpers/migrations.js';
import { parseHistoryRecords } from '../state/history.js';

describe('parseMigrationFileName', () => {
  it('reads golang-migrate names', () => {
    expect(parseMigrationFileName('000007_objects.up.sql')).toEqual({ ok: true, value: { version: 7n, name: 'objects', direction: 'up' } });
    expect(parseMigrationFileName('20240101120000_add_x.down.sql')).toEqual({ ok: true, value: { version: 20240101120000n, name: 'add_x', direction: 'down' } });
    expect(parseMigrationFileName('9223372036854775807_max.up.sql')).toMatchObject({ ok: true, value: { version: 9223372036854775807n } });
  });
  it('rejects other names and versions beyond bigint', () => {
    expect(parseMigrationFileName('README.md')).toEqual({ ok: false, reason: 'no-match' });
    expect(parseMigrationFileName('7_objects.sql')).toEqual({ ok: false, reason: 'no-match' });
    expect(parseMigrationFileName('9223372036854775808_x.up.sql')).toEqual({ ok: false, reason: 'out-of-range' });
    expect(parseMigrationFileName('10000000000000000000_x.up.sql')).toEqual({ ok: false, reason: 'out-of-range' });
  });
  it('reads leading zeros as padding, however many', () => {
    expect(parseMigrationFileName('0000000000000000000000000007_x.up.sql')).toMatchObject({ ok: true, value: { version: 7n } });
    expect(parseMigrationFileName('000_zero.up.sql')).toMatchObject({ ok: true, value: { version: 0n } });
    expect(parseMigrationFileName('09223372036854775807_max.up.sql')).toMatchObject({ ok: true, value: { version: 9223372036854775807n } });
  });
});

describe('parseVersionArgument', () => {
  it('accepts integers within bigint', () => {
    expect(parseVersionArgument('7')).toBe(7n);
    expect(parseVersionArgument('-1', -1n)).toBe(-1n);
    expect(parseVersionArgument('9223372036854775807')).toBe(9223372036854775807n);
  });
  it.each(['abc', '1.5', '', '-1', '-2', '9223372036854775808', '7x', '0x10'])('refuses %j', (text) => {
    expect(parseVersionArgument(text)).toBeUndefined();
  });
});

describe('normaliseMigrationName', () => {
  it('normalises to [a-z0-9_]', () => {
    expect(normaliseMigrationName('Add Users')).toBe('add_users');
    expect(normaliseMigrationName('add-users-table')).toBe('add_users_table');
    expect(normaliseMigrationName('  Café  index ')).toBe('cafe_index');
  });
  it.each(['', '   ', '___', '../etc/passwd', 'a/b', "o'reilly", 'say "hi"', 'x\\y', 'a..b'])('refuses %j', (name) => {
    expect(normaliseMigrationName(name)).toBeUndefined();
  });
});

describe('readMigrationDir', () => {
  it('sorts numerically, allows gaps and warns about unmatched files', async () => {
    const { dir } = await migrationsDir({
      '10_c.up.sql': 'SELECT 10', '2_b.up.sql': 'SELECT 2', '2_b.down.sql': 'SELECT -2', '1_a.up.sql': 'SELECT 1',
      'notes.txt': 'x', '3_bad.sql': 'x', '.gitkeep': '',
    });
    const set = await readMigrationDir(dir);
    expect(set.migrations.map((m) => m.version)).toEqual([1n, 2n, 10n]);
    expect(set.migrations[1].down?.fileName).toBe('2_b.down.sql');
    expect(set.warnings).toHaveLength(1);
    expect(set.warnings[0]).toContain('3_bad.sql, notes.txt');
  });
  it('orders by value whatever the padding, and skips subdirectories without a warning', async () => {
    const { dir } = await migrationsDir({
      '9223372036854775807_last.up.sql': 'x', '0010_ten.up.sql': 'x', '9_nine.up.sql': 'x', '00000000000000000000000100_hundred.up.sql': 'x',
      '0_zero.up.sql': 'x', '20240101120000_stamp.up.sql': 'x',
    });
    await mkdir(path.join(dir, 'archive'));
    const set = await readMigrationDir(dir);
    expect(set.migrations.map((m) => m.version)).toEqual([0n, 9n, 10n, 100n, 20240101120000n, 9223372036854775807n]);
    expect(set.warnings).toEqual([]);
  });
  it('names both files of a duplicate version', async () => {
    const { dir } = await migrationsDir({ '1_a.up.sql': 'x', '001_b.up.sql': 'y' });
    await expect(readMigrationDir(dir)).rejects.toMatchObject({ code: 'MIGRATION_SOURCE_FAILED', reason: expect.stringMatching(/001_b\.up\.sql.*1_a\.up\.sql|1_a\.up\.sql.*001_b\.up\.sql/) });
  });
  it('refuses a missing directory and an oversized version', async () => {
    await expect(readMigrationDir('/nonexistent/migrations')).rejects.toMatchObject({ code: 'MIGRATION_SOURCE_FAILED', reason: 'the directory does not exist' });
    const { dir } = await migrationsDir({ '99999999999999999999_x.up.sql': 'x' });
    await expect(readMigrationDir(dir)).rejects.toMatchObject({ code: 'MIGRATION_SOURCE_FAILED' });
  });
  it('reads a file once and hashes its bytes', async () => {
    const { dir } = await migrationsDir({ '1_a.up.sql': 'SELECT 1;\n' });
    const [m] = (await readMigrationDir(dir)).migrations;
    const first = m.up!.load();
    expect(first.checksum).toBe(createHash('sha256').update('SELECT 1;\n').digest('hex'));
    expect(m.up!.load()).toBe(first);
  });
  it('reads files of any size whole, one after another, each with its own text and hash', async () => {
    const sizes = [0, 1, 65535, 65536, 65537, 300000];
    const bodies = sizes.map((n, i) => `-- ${i}\n${'x'.repeat(Math.max(0, n - 6))}`.slice(0, n).padEnd(n, 'y'));
    const { dir } = await migrationsDir(Object.fromEntries(bodies.map((body, i) => [`${i + 1}_f.up.sql`, body])));
    const set = await readMigrationDir(dir);
    const loaded = set.migrations.map((m) => m.up!.load());
    expect(loaded.map((l) => l.sql.length)).toEqual(sizes);
    expect(loaded.map((l) => l.sql)).toEqual(bodies);
    expect(loaded.map((l) => l.checksum)).toEqual(bodies.map((b) => createHash('sha256').update(b).digest('hex')));
  });
  it('builds the same shape from an in-memory list', () => {
    const set = inlineMigrations([{ version: 2, name: 'b', up: 'SELECT 2' }, { version: '1', name: 'a', up: 'SELECT 1', down: 'SELECT 0' }]);
    expect(set.migrations.map((m) => [m.version, m.up?.fileName, m.down?.fileName])).toEqual([[1n, '1_a.up.sql', '1_a.down.sql'], [2n, '2_b.up.sql', undefined]]);
  });
});

describe('parseHistoryRecords', () => {
  const row = (...fields: string[]) => fields.join('\x1f');
  it('reads separated fields, empty ones as null, the start time as epoch milliseconds', () => {
    const text = [row('7', 'up', '6', '7', '1700000000123', 'abc', 'unwrapped', 'add_users'), row('3', 'force', '', '3', '1700000000999', '', '', '')].join('\x1e');
    expect(parseHistoryRecords(text)).toEqual([
      { version: 7n, direction: 'up', fromVersion: 6n, toVersion: 7n, startedAt: new Date(1700000000123), checksum: 'abc', mode: 'unwrapped', name: 'add_users' },
      { version: 3n, direction: 'force', fromVersion: null, toVersion: 3n, startedAt: new Date(1700000000999), checksum: null, mode: null, name: '' },
    ]);
  });
  it('gives an empty history for no rows, and nothing (read the rows instead) when a field holds a separator', () => {
    expect(parseHistoryRecords(null)).toEqual([]);
    expect(parseHistoryRecords(row('7', 'up', '6', '7', '1', 'abc', 'transaction', 'a\x1fb'))).toBeUndefined();
    expect(parseHistoryRecords([row('7', 'up', '6', '7', '1', 'abc', 'transaction', 'a'), 'b'].join('\x1e'))).toBeUndefined();
  });
});
