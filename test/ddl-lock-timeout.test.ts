import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { autoMigrate, loadSettings, TidemarkError, type MigrationEvent } from '../src/index.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { cleanupAfterEach, createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';

const cleanups = { push: cleanupAfterEach() };

async function database(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  cleanups.push(() => db.close());
  return db;
}

/** A session of the application: an open transaction holding a lock on `gate`. */
async function blocker(db: TestDatabase, sql = 'LOCK TABLE gate IN ACCESS SHARE MODE'): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: db.url, application_name: 'the-blocker' });
  client.on('error', () => undefined);
  await client.connect();
  cleanups.push(() => client.end().catch(() => undefined));
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  await client.query('BEGIN');
  await client.query(sql);
  return { client, pid: rows[0].pid };
}

/** A project at version 1 (the table `gate`), with migration 2 pending. */
async function gated(label: string, second: string, extra: Record<string, string> = {}) {
  const db = await database(label);
  const { project, dir } = await migrationsDir({ '1_gate.up.sql': 'CREATE TABLE gate (id int);', '2_second.up.sql': second, ...extra });
  const first = await runCli('migrate', ['--dir', dir, '--steps', '1'], { env: { DATABASE_URL: db.url } });
  expect(first.code, first.stderr).toBe(0);
  return { db, project, dir };
}

/** Runs a command in the background, its stderr readable while it runs. */
function start(target: string, args: string[], env: Record<string, string>, cwd?: string) {
  const child = spawnCli(target, args, { env, cwd });
  const seen = { stderr: '' };
  child.stderr!.on('data', (d) => (seen.stderr += d));
  return { child, seen, done: collect(child) };
}

const state = async (db: TestDatabase) => (await db.query('SELECT version::text AS v, dirty FROM schema_migrations')).rows[0];
const columns = async (db: TestDatabase, table: string) =>
  (await db.query('SELECT column_name AS c FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [table])).rows.map((r) => r.c);

/** The tidemark backend that waits for a heavyweight lock, with its query text and how long it has run. */
function lockWaiter(db: TestDatabase, minSeconds = 0) {
  return waitFor(async () => (await db.query(
    `SELECT pid, query FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'tidemark' AND wait_event_type = 'Lock'
        AND now() - query_start > make_interval(secs => $1)`, [minSeconds],
  )).rows[0] as { pid: number; query: string } | undefined, `a tidemark backend waiting ${minSeconds} s for a lock`, 60_000);
}

describe('a migration blocked by a table lock', () => {
  it('times out, is rolled back, and is retried until it succeeds once the lock is released; the flag wins over the environment', async () => {
    const { db, dir } = await gated('ddl_retry', 'ALTER TABLE gate ADD COLUMN note text;');
    const held = await blocker(db);
    const run = start('migrate', ['--dir', dir, '--ddl-lock-timeout', '1s'], { DATABASE_URL: db.url, TIDEMARK_DDL_LOCK_TIMEOUT: '1h' });
    const waiting = await lockWaiter(db);
    expect(waiting.query).toMatch(/^BEGIN;\nSET LOCAL lock_timeout = '1000ms';\nALTER TABLE gate/);
    await waitFor(async () => run.seen.stderr.includes('retry 1 of 3'), 'the first retry event');
    expect(run.seen.stderr).toMatch(new RegExp(`migration 2 timed out waiting for AccessExclusiveLock on gate \\(lock_timeout 1 s\\), held by pid ${held.pid} \\("the-blocker", user \\w+[^)]*\\), idle in transaction since \\S+ \\(its last query started \\S+\\): LOCK TABLE gate IN ACCESS SHARE MODE; rolled back; retry 1 of 3 in `));
    // Rolled back: while the runner pauses, nothing of the migration is there and the table is free.
    expect(await columns(db, 'gate')).toEqual(['id']);
    await held.client.query('ROLLBACK');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Migrated from version 1 to 2');
    expect(await state(db)).toEqual({ v: '2', dirty: false });
    expect(await columns(db, 'gate')).toEqual(['id', 'note']);
  });

  it('with the retries used up fails with MIGRATION_DDL_LOCK_TIMEOUT naming the blocker, the file, and the unchanged database', async () => {
    const { db, dir } = await gated('ddl_exhausted', 'ALTER TABLE gate ADD COLUMN note text;\nCREATE TABLE other (id int);');
    const held = await blocker(db);
    const result = await runCli('migrate', ['--dir', dir, '--ddl-lock-timeout', '1s'], { env: { DATABASE_URL: db.url, TIDEMARK_DDL_RETRIES: '1' } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('retry 1 of 1');
    expect(result.stderr).toMatch(/^MIGRATION_DDL_LOCK_TIMEOUT: migration timed out waiting for a table lock\n {2}operation: apply migration 2 \(2_second\.up\.sql\)/m);
    expect(result.stderr).toContain(`all 2 tries timed out waiting for AccessExclusiveLock on gate (lock_timeout 1 s), held by pid ${held.pid} ("the-blocker"`);
    expect(result.stderr).toContain('canceling statement due to lock timeout (SQLSTATE 55P03');
    expect(result.stderr).toContain('nothing was changed: every try was rolled back and the database is still at version 1, not dirty');
    expect(result.stderr).toContain(`pg_terminate_backend(${held.pid})`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await state(db)).toEqual({ v: '1', dirty: false });
    expect(await columns(db, 'gate')).toEqual(['id']);
    expect((await db.query("SELECT to_regclass('other') AS t")).rows[0].t).toBeNull();
  });

  it('autoMigrate() takes the same options, reports each retry as an event and throws the coded error with the blocker', async () => {
    const { db, dir } = await gated('ddl_api', 'ALTER TABLE gate ADD COLUMN note text;');
    const held = await blocker(db);
    const events: MigrationEvent[] = [];
    const err = await autoMigrate({ databaseUrl: db.url, migrationsDir: dir, env: {}, ddlLockTimeout: '1s', ddlRetries: 1, onEvent: (e) => events.push(e) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TidemarkError);
    expect(err).toMatchObject({
      code: 'MIGRATION_DDL_LOCK_TIMEOUT', exitCode: 1,
      data: {
        version: '2', file: '2_second.up.sql', dirty: false, tries: 2, lockTimeoutMs: 1000, lockTimeoutSetBy: 'tidemark',
        blockers: [{ pid: held.pid, application: 'the-blocker', state: 'idle in transaction', queryStart: expect.any(String), query: 'LOCK TABLE gate IN ACCESS SHARE MODE' }],
      },
    });
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, retries: 1, lockTimeout: { ms: 1000, source: 'tidemark' }, wait: { relation: 'gate', holders: [{ pid: held.pid }] } });
    expect(await state(db)).toEqual({ v: '1', dirty: false });
  });

  it('a migration that sets its own lock_timeout keeps it', async () => {
    const { db, dir } = await gated('ddl_own', "SET LOCAL lock_timeout = '2s';\nALTER TABLE gate ADD COLUMN note text;");
    const held = await blocker(db);
    const run = start('migrate', ['--dir', dir, '--ddl-lock-timeout', '1h', '--ddl-retries', '0'], { DATABASE_URL: db.url });
    const waiting = await lockWaiter(db);
    expect(waiting.query).toMatch(/^BEGIN;\nSET LOCAL lock_timeout = '2s';\nALTER TABLE gate/);
    // Under the 1 h of the flag this would wait an hour; under the file's 2 s it fails.
    const result = await run.done;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^MIGRATION_DDL_LOCK_TIMEOUT/m);
    expect(result.stderr).toContain(`the only try timed out waiting for AccessExclusiveLock on gate (lock_timeout 2 s, set by the migration), held by pid ${held.pid}`);
    expect(await state(db)).toEqual({ v: '1', dirty: false });
  });

  it('--ddl-lock-timeout 0 sets none: the migration waits past the default timeout, with no retry, until the lock is released', async () => {
    const { db, dir } = await gated('ddl_zero', 'ALTER TABLE gate ADD COLUMN note text;');
    const held = await blocker(db);
    const run = start('migrate', ['--dir', dir, '--ddl-lock-timeout', '0'], { DATABASE_URL: db.url });
    // Still the first try, waiting longer than the default 5 s would have let it.
    const waiting = await lockWaiter(db, 6);
    expect(waiting.query).toMatch(/^BEGIN;\nALTER TABLE gate/);
    expect(run.seen.stderr).not.toContain('retry');
    await held.client.query('ROLLBACK');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('timed out');
    expect(await columns(db, 'gate')).toEqual(['id', 'note']);
  });
});

describe('a no-transaction migration', () => {
  it('retries the statement that timed out alone, dropping the invalid index its CREATE INDEX CONCURRENTLY left', async () => {
    const sql = '-- tidemark:no-transaction\nCREATE TABLE side (id int);\nCREATE INDEX CONCURRENTLY gate_id ON gate (id);\nCREATE TABLE after_it (id int);\n';
    const { db, dir } = await gated('ddl_notx', sql);
    // A writer's open transaction: CREATE INDEX CONCURRENTLY creates its index, then waits for it to end.
    const held = await blocker(db, 'INSERT INTO gate VALUES (1)');
    const run = start('migrate', ['--dir', dir, '--ddl-lock-timeout', '1s'], { DATABASE_URL: db.url });
    await waitFor(async () => run.seen.stderr.includes('retry 1 of 3'), 'the first retry event');
    expect(run.seen.stderr).toMatch(new RegExp(`migration 2, statement 2 of 3 \\(line 3\\), timed out waiting for ShareLock \\(lock_timeout 1 s\\), held by pid ${held.pid} \\("the-blocker"`));
    expect(run.seen.stderr).toContain('it did not run (statements before it stay applied); the invalid index gate_id it left is dropped first; retry 1 of 3');
    const invalid = await db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'gate_id'::regclass");
    expect(invalid.rows).toEqual([{ indisvalid: false }]);
    expect(await state(db)).toEqual({ v: '2', dirty: true });
    await held.client.query('ROLLBACK');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    // CREATE TABLE side ran once (a second run of it would have failed), the index is whole, the file is recorded.
    expect(await state(db)).toEqual({ v: '2', dirty: false });
    expect((await db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'gate_id'::regclass")).rows).toEqual([{ indisvalid: true }]);
    expect((await db.query("SELECT to_regclass('side') IS NOT NULL AS a, to_regclass('after_it') IS NOT NULL AS b")).rows[0]).toEqual({ a: true, b: true });
  });

  it('with the retries used up says which statements ran, and the invalid index it could not drop while the blocker stays', async () => {
    const sql = '-- tidemark:no-transaction\nCREATE TABLE side (id int);\nCREATE INDEX CONCURRENTLY gate_id ON gate (id);\n';
    const { db, dir } = await gated('ddl_notx_out', sql);
    const held = await blocker(db, 'INSERT INTO gate VALUES (1)');
    const result = await runCli('migrate', ['--dir', dir, '--ddl-lock-timeout', '1s', '--ddl-retries', '0'], { env: { DATABASE_URL: db.url } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^MIGRATION_DDL_LOCK_TIMEOUT/m);
    expect(result.stderr).toContain(`held by pid ${held.pid} ("the-blocker"`);
    expect(result.stderr).toContain('statement 2 (line 3) did not run; statement 1 of 2 ran and stays applied; the database is dirty at version 2');
    // Dropping it waits for the same transaction: it is named, for the user to drop.
    expect(result.stderr).toContain('it left the invalid index gate_id, which could not be dropped');
    expect(result.stderr).toContain('drop it first, DROP INDEX CONCURRENTLY gate_id');
    expect(await state(db)).toEqual({ v: '2', dirty: true });
    expect((await db.query("SELECT to_regclass('side') IS NOT NULL AS s")).rows[0]).toEqual({ s: true });
    expect((await db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'gate_id'::regclass")).rows).toEqual([{ indisvalid: false }]);
  });
});

describe('statements that commit part-way', () => {
  it('REINDEX CONCURRENTLY is not retried: the first timeout ends the run, saying why', async () => {
    const { db, dir } = await gated('ddl_reindex', '-- tidemark:no-transaction\nREINDEX INDEX CONCURRENTLY gate_idx;\n');
    await db.query('CREATE INDEX gate_idx ON gate (id)');
    const held = await blocker(db, 'LOCK TABLE gate IN SHARE UPDATE EXCLUSIVE MODE');
    const result = await runCli('migrate', ['--dir', dir, '--ddl-lock-timeout', '1s', '--ddl-retries', '3'], { env: { DATABASE_URL: db.url } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain('retry 1 of 3');
    expect(result.stderr).toMatch(/^MIGRATION_DDL_LOCK_TIMEOUT/m);
    expect(result.stderr).toContain(`the only try timed out waiting for ShareUpdateExclusiveLock on gate (lock_timeout 1 s), held by pid ${held.pid}`);
    expect(result.stderr).toContain('REINDEX CONCURRENTLY is not retried: a try that timed out may have committed part of its work');
    expect(await state(db)).toEqual({ v: '2', dirty: true });
  });
});

describe('interrupts', () => {
  it('SIGINT in the pause before a retry stops at once: nothing of the migration applied, settings from .env', async () => {
    const { db, project, dir } = await gated('ddl_sigint', 'ALTER TABLE gate ADD COLUMN note text;');
    await writeFile(path.join(project, '.env'), 'TIDEMARK_DDL_LOCK_TIMEOUT=1s\n');
    await blocker(db);
    const run = start('migrate', ['--dir', dir], { DATABASE_URL: db.url }, project);
    // The second pause (2 s ± 25 %) leaves time to send the signal within it.
    await waitFor(async () => run.seen.stderr.includes('retry 2 of 3'), 'the second retry event', 60_000);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/^INTERRUPTED: interrupted by SIGINT/m);
    expect(result.stderr).toContain('stopped while waiting to retry after a lock timeout: nothing of migration 2 was applied (the try was rolled back); the database is at version 1, not dirty');
    expect(result.stderr).not.toContain('retry 3 of 3');
    expect(await state(db)).toEqual({ v: '1', dirty: false });
    expect(await columns(db, 'gate')).toEqual(['id']);
  });

  it('SIGTERM in the pause before a statement of a no-transaction file is retried: says which statements ran, dirty', async () => {
    const sql = '-- tidemark:no-transaction\nCREATE TABLE side (id int);\nALTER TABLE gate ADD COLUMN note text;\n';
    const { db, dir } = await gated('ddl_sigint_notx', sql);
    await blocker(db);
    const run = start('migrate', ['--dir', dir, '--ddl-lock-timeout', '1s'], { DATABASE_URL: db.url });
    await waitFor(async () => run.seen.stderr.includes('retry 2 of 3'), 'the second retry event', 60_000);
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(143);
    expect(result.stderr).toContain('stopped while waiting to retry statement 2 after a lock timeout: statement 2 (line 3) did not run; statement 1 of 2 ran and stays applied; the database is dirty at version 2');
    expect(await state(db)).toEqual({ v: '2', dirty: true });
    expect(await columns(db, 'gate')).toEqual(['id']);
    expect((await db.query("SELECT to_regclass('side') IS NOT NULL AS s")).rows[0].s).toBe(true);
  });
});

describe('settings', () => {
  it('flag > environment > .env > default, for both settings', async () => {
    const { project } = await migrationsDir({});
    const base = { cwd: project, databaseUrl: 'postgres://u@localhost/db' };
    expect(loadSettings({ ...base, env: {} })).toMatchObject({ ddlLockTimeoutMs: 5000, ddlRetries: 3 });
    await writeFile(path.join(project, '.env'), 'TIDEMARK_DDL_LOCK_TIMEOUT=2s\nTIDEMARK_DDL_RETRIES=5\n');
    expect(loadSettings({ ...base, env: {} })).toMatchObject({ ddlLockTimeoutMs: 2000, ddlRetries: 5 });
    const env = { TIDEMARK_DDL_LOCK_TIMEOUT: '750ms', TIDEMARK_DDL_RETRIES: '1' };
    expect(loadSettings({ ...base, env })).toMatchObject({ ddlLockTimeoutMs: 750, ddlRetries: 1 });
    expect(loadSettings({ ...base, env, ddlLockTimeout: 0, ddlRetries: 0 })).toMatchObject({ ddlLockTimeoutMs: 0, ddlRetries: 0 });
    expect(loadSettings({ ...base, env, ddlLockTimeout: '1m' })).toMatchObject({ ddlLockTimeoutMs: 60_000, ddlRetries: 1 });
  });

  it.each([
    [['--ddl-lock-timeout', 'soon'], {}, 'read --ddl-lock-timeout', '"soon" is not a duration'],
    [['--ddl-retries', 'many'], {}, 'read --ddl-retries', '"many" is not a whole number of at least 0'],
    [[], { TIDEMARK_DDL_LOCK_TIMEOUT: '5 minutes' }, 'read TIDEMARK_DDL_LOCK_TIMEOUT', '"5 minutes" is not a duration'],
    [[], { TIDEMARK_DDL_RETRIES: '-1' }, 'read TIDEMARK_DDL_RETRIES', '"-1" is not a whole number of at least 0'],
    [[], { TIDEMARK_DDL_LOCK_TIMEOUT: '30d' }, 'read TIDEMARK_DDL_LOCK_TIMEOUT', 'is not a duration'],
    [['--ddl-lock-timeout', '600h'], {}, 'read --ddl-lock-timeout', "more than PostgreSQL's largest lock_timeout"],
  ])('bad values are CONFIG_INVALID naming where they came from: %j %j', async (args, env, operation, cause) => {
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);' });
    const result = await runCli('migrate', ['--dir', dir, ...args], { env: { DATABASE_URL: 'postgres://u@127.0.0.1:1/none', ...env } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^CONFIG_INVALID: invalid configuration/m);
    expect(result.stderr).toContain(`operation: ${operation}`);
    expect(result.stderr).toContain(cause);
  });

  it.each([['migrate:down', []], ['migrate:goto', ['1']]])('%s takes the same flags', async (target, args) => {
    const { db, dir } = await gated(`ddl_${target.slice(8)}`, 'ALTER TABLE gate ADD COLUMN note text;', { '2_second.down.sql': 'ALTER TABLE gate DROP COLUMN note;' });
    expect((await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const held = await blocker(db);
    const result = await runCli(target, ['--dir', dir, ...args, '--ddl-lock-timeout', '1s', '--ddl-retries', '0'], { env: { DATABASE_URL: db.url } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^MIGRATION_DDL_LOCK_TIMEOUT[^]*operation: roll back migration 2/m);
    expect(result.stderr).toContain(`held by pid ${held.pid} ("the-blocker"`);
    expect(result.stderr).toContain('the database is still at version 2, not dirty');
    expect(await state(db)).toEqual({ v: '2', dirty: false });
  });
});
