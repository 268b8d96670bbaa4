import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('inspect');
  const { dir } = await migrationsDir({
    '1_big.up.sql': 'CREATE TABLE big (id int PRIMARY KEY, body text NOT NULL);',
    '2_small.up.sql': "CREATE TABLE small (id int PRIMARY KEY, name text, data jsonb, amount numeric, flag boolean);\nCREATE SEQUENCE counter;",
  });
  expect((await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
  await db.query("INSERT INTO big SELECT i, repeat('x', 200) FROM generate_series(1, 10000) i");
  await db.query(`INSERT INTO small VALUES (1, 'plain', '{"a": [1, 2]}', 12345678901234567890.5, true), (2, 'has, comma and "quotes"', NULL, -1, false), (3, NULL, 'null', 0, NULL)`);
  await db.query('VACUUM ANALYZE big');
  await db.query('VACUUM ANALYZE small');
});
afterAll(() => db.close());

const cli = (target: string, args: string[]) => runCli(target, args, { env: { DATABASE_URL: db.url } });

describe('db:stats', () => {
  it('lists the largest tables with row estimates, sizes, vacuum and analyze times, and the migration version', async () => {
    // The statistics collector publishes VACUUM's counts asynchronously; wait until it has.
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_user_tables WHERE relname = 'big' AND n_live_tup = 10000")).rowCount, 'the statistics of big');
    const result = await cli('db:stats', ['--json']);
    expect(result.code, result.stderr).toBe(0);
    const stats = JSON.parse(result.stdout);
    expect(stats).toMatchObject({ version: 2, dirty: false, tableCount: 4 });
    expect(stats.tables[0]).toMatchObject({ schema: 'public', name: 'big', liveRows: 10000, lastVacuum: expect.any(String), lastAnalyze: expect.any(String) });
    expect(stats.tables[0].totalBytes).toBeGreaterThan(2_000_000);
    expect(stats.tables.find((t: { name: string }) => t.name === 'small')).toMatchObject({ liveRows: 3, lastVacuum: expect.any(String) });
    expect(stats.tables.map((t: { totalBytes: number }) => t.totalBytes)).toEqual([...stats.tables.map((t: { totalBytes: number }) => t.totalBytes)].sort((a, b) => b - a));
    const limited = await cli('db:stats', ['--limit', '1']);
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ( \\(auto\\))?';
    expect(limited.stdout).toMatch(new RegExp([
      '^Database: {2}postgres://postgres:\\*\\*\\*\\*@[^\\n]+ \\(\\d+ (kB|MB), 4 tables\\)',
      'Migration: 2',
      ' table +\\| rows \\(estimate\\) \\| total size \\| last vacuum +\\| last analyze',
      '[-+]+',
      ` public\\.big \\| +10,000 \\| +\\d+ (kB|MB) \\| ${time} +\\| ${time}`,
      '$',
    ].join('\n')));
    expect((await cli('db:stats', ['--limit', '0'])).stderr).toMatch(/^INVALID_ARGUMENT[^]*--limit/);
  });
});

describe('db:query', () => {
  it('prints one statement\'s rows as an aligned table, JSON or CSV', async () => {
    const sql = 'SELECT id, name, data, amount, flag FROM small ORDER BY id';
    const table = await cli('db:query', [sql]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe([
      ' id | name                    | data          | amount                 | flag',
      '----+-------------------------+---------------+------------------------+------',
      '  1 | plain                   | {"a": [1, 2]} | 12345678901234567890.5 | t',
      '  2 | has, comma and "quotes" |               |                     -1 | f',
      '  3 |                         | null          |                      0 |',
      '(3 rows)',
      '',
    ].join('\n'));
    const json = JSON.parse((await cli('db:query', ['--json', sql])).stdout);
    expect(json).toEqual({
      command: 'SELECT', rowCount: 3, columns: ['id', 'name', 'data', 'amount', 'flag'],
      rows: [
        { id: 1, name: 'plain', data: { a: [1, 2] }, amount: '12345678901234567890.5', flag: true },
        { id: 2, name: 'has, comma and "quotes"', data: null, amount: '-1', flag: false },
        { id: 3, name: null, data: null, amount: '0', flag: null },
      ],
    });
    const csv = await cli('db:query', ['--csv', 'SELECT id, name FROM small ORDER BY id']);
    expect(csv.stdout).toBe('id,name\n1,plain\n2,"has, comma and ""quotes"""\n3,\n');
    expect((await cli('db:query', ['--json', 'SELECT 1, 2'])).stdout).toContain('"?column?_2": 2');
  });

  it('refuses a write without --write, and changes nothing', async () => {
    const insert = "INSERT INTO small (id, name) VALUES (10, 'new')";
    const refused = await cli('db:query', [insert]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe([
      'QUERY_READ_ONLY: the statement is not a read-only query, and queries are read-only',
      '  operation: check the statement before running it read-only',
      '  error: INSERT is not a query: db:query without --write runs only SELECT, WITH … SELECT, VALUES, TABLE, SHOW and EXPLAIN (without ANALYZE)',
      '  hint: nothing was run; if this is intended, run it again with --write',
      '',
    ].join('\n'));
    const sequence = await cli('db:query', ["SELECT nextval('counter')"]);
    expect(sequence.stderr).toMatch(/^QUERY_READ_ONLY[^]*nextval\(\) advances or sets a sequence, which no rollback undoes/);
    expect((await db.query('SELECT count(*)::int AS n FROM small')).rows[0].n).toBe(3);
    const written = await cli('db:query', ['--write', insert]);
    expect(written).toMatchObject({ code: 0, stdout: 'INSERT 1\n' });
    expect((await db.query('SELECT count(*)::int AS n FROM small')).rows[0].n).toBe(4);
    await db.query('DELETE FROM small WHERE id = 10');
  });

  it('a failing query is QUERY_FAILED with its position; two statements are refused before anything runs', async () => {
    const failed = await cli('db:query', ['SELECT id,\n  nope FROM small']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe([
      'QUERY_FAILED: the query failed',
      '  operation: run the query in a read-only transaction',
      '  error: column "nope" does not exist (SQLSTATE 42703, line 2)',
      '        nope FROM small',
      '        ^',
      '    hint: Perhaps you meant to reference the column "small.name".',
      '  hint: nothing was changed: the statement failed as a whole',
      '',
    ].join('\n'));
    const two = await cli('db:query', ['--write', 'DELETE FROM small; SELECT 1']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('2 statements given; db:query runs exactly one');
    expect((await db.query('SELECT count(*)::int AS n FROM small')).rows[0].n).toBe(3);
    expect((await cli('db:query', [])).stderr).toMatch(/^INVALID_ARGUMENT[^]*no SQL given/);
    expect((await cli('db:query', ['--json', '--csv', 'SELECT 1'])).code).toBe(2);
  });
});
