import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { historyRecordsSql, historyRowsSql, parseHistoryRecords, parseHistoryRows } from '../src/migrate/state/history.js';
import { stateTables } from '../src/migrate/state/tables.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';

// Start times at the edges of a millisecond, now, before 1970, and far from it (where float8 epoch
// seconds would not be exact to the microsecond): the separated records and the JSON rows must
// cut them to the same millisecond as the server's numeric arithmetic.
const STARTS = [
  '2026-12-02 01:28:31.123000+00', '2026-12-02 01:28:31.999999+00', '2026-12-02 01:28:31.000001+00', '2026-12-02 01:28:31.000999+00',
  '1969-12-31 23:59:59.998500+00', '1900-01-01 00:00:00.000500+00', '2000-01-01 00:00:00+00',
  '2106-02-07 06:28:16.000999+00', '2106-02-05 23:59:59.999999+00', '1833-11-24 04:51:54.000999+00', '1833-11-25 00:00:00.000999+00',
  '2110-01-01 00:00:00.000999+00', '2262-04-11 23:47:16.854775+00', '2500-01-01 00:00:00.123999+00', '1500-06-01 12:00:00.000001+00',
];

describe.each([
  ['PostgreSQL 18', () => inject('pg18Url')],
  ['PostgreSQL 15', () => inject('pgToolsUrl')],
])('the two readings of the history on %s', (label, serverUrl) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(`history_reading_${label.slice(-2)}`, serverUrl());
    const files = Object.fromEntries(STARTS.map((_, i) => [`${i + 1}_m${i + 1}.up.sql`, `SELECT ${i + 1};`]));
    const { dir } = await migrationsDir(files);
    const result = await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    expect(result.code, result.stderr).toBe(0);
    for (const [i, start] of STARTS.entries()) await db.query('UPDATE schema_migrations_history SET started_at = $1 WHERE version = $2', [start, i + 1]);
  });
  afterAll(async () => db?.close());

  it('give the same start times, to the millisecond, as the server says them', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const t = stateTables('public', 'schema_migrations');
      const records = parseHistoryRecords((await client.query({ text: historyRecordsSql(t), rowMode: 'array' })).rows[0][0])!;
      const rows = parseHistoryRows((await client.query({ text: historyRowsSql(t), rowMode: 'array' })).rows[0][0]);
      // The server's own cut to milliseconds, as epoch milliseconds in exact numeric arithmetic.
      const exact = (await client.query({ text: 'SELECT floor(extract(epoch FROM started_at) * 1000)::bigint::text FROM schema_migrations_history ORDER BY id', rowMode: 'array' })).rows.map((r) => Number(r[0]));
      expect(records.map((r) => r.startedAt.getTime())).toEqual(exact);
      expect(rows.map((r) => r.startedAt.getTime())).toEqual(exact);
      expect(records.length).toBe(STARTS.length);
    } finally {
      await client.end();
    }
  });
});
