import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';

const open: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

describe('several processes at once', () => {
  it('eight processes started together apply each migration exactly once', async () => {
    const db = await createTestDatabase('eight');
    open.push(db);
    const files: Record<string, string> = { '1_log.up.sql': 'CREATE TABLE log (v int);' };
    for (let v = 2; v <= 12; v++) files[`${v}_m${v}.up.sql`] = `INSERT INTO log VALUES (${v});`;
    const { dir } = await migrationsDir(files);
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli('migrate', ['--dir', dir, '--lock-timeout', '60s'], { env: { DATABASE_URL: db.url } })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(runs.filter((r) => r.stdout.includes('Migrated from version none to 12')).length).toBe(1);
    expect(runs.filter((r) => r.stdout.includes('Already at latest version: 12')).length).toBe(7);
    const { rows } = await db.query('SELECT v, count(*)::int AS n FROM log GROUP BY v ORDER BY v');
    expect(rows).toEqual(Array.from({ length: 11 }, (_, i) => ({ v: i + 2, n: 1 })));
    const history = await db.query("SELECT count(*)::int AS n FROM schema_migrations_history WHERE direction = 'up'");
    expect(history.rows[0].n).toBe(12);
  });

  it('a process killed with SIGKILL mid-run leaves a consistent database that a rerun completes', async () => {
    const db = await createTestDatabase('sigkill');
    open.push(db);
    const { dir } = await migrationsDir({
      '1_gate.up.sql': 'CREATE TABLE gate (id int); CREATE TABLE log (v int);',
      '2_wait.up.sql': 'INSERT INTO log VALUES (2);\nSELECT count(*) FROM gate;\nINSERT INTO log VALUES (20);',
      '3_after.up.sql': 'INSERT INTO log VALUES (3);',
    });
    await runCli('migrate', ['--dir', dir, '--steps', '1'], { env: { DATABASE_URL: db.url } });
    const blocker = new pg.Client({ connectionString: db.url });
    blocker.on('error', () => undefined);
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    const exited = collect(child);
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark' AND wait_event_type = 'Lock'")).rowCount, 'the migration to block');
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    // Mid-run, nothing of migration 2 is visible and the version is clean.
    expect((await db.query('SELECT version::int, dirty FROM schema_migrations')).rows).toEqual([{ version: 1, dirty: false }]);
    expect((await db.query('SELECT count(*)::int AS n FROM log')).rows[0].n).toBe(0);
    const rerun = spawnCli('migrate', ['--dir', dir, '--lock-timeout', '60s'], { env: { DATABASE_URL: db.url } });
    const rerunDone = collect(rerun);
    await blocker.query('ROLLBACK');
    await blocker.end();
    const result = await rerunDone;
    expect(result.code, result.stderr).toBe(0);
    expect((await db.query('SELECT version::int, dirty FROM schema_migrations')).rows).toEqual([{ version: 3, dirty: false }]);
    expect((await db.query('SELECT v FROM log ORDER BY v')).rows.map((r) => r.v)).toEqual([2, 3, 20]);
    expect((await db.query("SELECT version::int FROM schema_migrations_history WHERE direction = 'up' ORDER BY id")).rows.map((r) => r.version)).toEqual([1, 2, 3]);
  });
});
