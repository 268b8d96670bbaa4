import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { acquireLocks, releaseLocks } from '../src/migrate/state/lock.js';
import { migrationLockKeys } from '../src/migrate/state/lock-key.js';
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

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  cleanups.push(() => c.end().catch(() => undefined));
  return c;
}

/** Holds the migration lock as another migrate run would: both keys, from a plain session. */
async function holdMigrationLock(db: TestDatabase): Promise<pg.Client> {
  const holder = await client(db.url);
  const keys = migrationLockKeys(new URL(db.url).pathname, db.name, 'public', 'schema_migrations');
  for (const key of keys) await holder.query('SELECT pg_advisory_lock($1::bigint)', [key.toString()]);
  return holder;
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('--lock-timeout', () => {
  it('waits the whole timeout and reports the time it really waited', async () => {
    const db = await database('lock_timeout');
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);' });
    await holdMigrationLock(db);
    const started = Date.now();
    const result = await runCli('migrate', ['--dir', dir, '--lock-timeout', '1', '--json'], { env: { DATABASE_URL: db.url } });
    const wallMs = Date.now() - started;
    expect(result.code).toBe(1);
    const { error } = JSON.parse(result.stderr);
    expect(error.code).toBe('MIGRATION_LOCK_TIMEOUT');
    expect(error.details.waitedMs).toBeGreaterThanOrEqual(1000);
    const waited = Number(/waited (\d+\.\d)s/.exec(error.error)?.[1]);
    expect(waited).toBeGreaterThanOrEqual(1.0);
    expect(wallMs).toBeGreaterThanOrEqual(1000);
    expect((await db.query("SELECT to_regclass('a')::text AS a")).rows[0].a).toBeNull();
  });

  it('lets the run proceed when the lock is released during the wait', async () => {
    const db = await database('lock_release');
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);' });
    const holder = await holdMigrationLock(db);
    const child = spawnCli('migrate', ['--dir', dir, '--lock-timeout', '60s'], { env: { DATABASE_URL: db.url } });
    const done = collect(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => stderr.includes('waiting for the migration lock'), 'the wait line on stderr');
    await holder.query('SELECT pg_advisory_unlock_all()');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('applied 1 a');
    expect((await db.query("SELECT to_regclass('a')::text AS a")).rows[0].a).toBe('a');
  });

  it.each([
    ['the second', 1, ['4243']],
    ['the first', 0, []],
  ])('tries every key in one round trip; with %s held elsewhere, it holds only the keys before it while it waits, then all', async (_, heldIndex, whileWaitingExpected) => {
    const db = await database(`lock_partial_${heldIndex}`);
    const keys = [4243n, 4244n];
    const holder = await client(db.url);
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [keys[heldIndex].toString()]);
    const waiter = await client(db.url);
    const waiterPid = (await waiter.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const heldBy = async (pid: number) =>
      (await db.query("SELECT objid::bigint::text AS key FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1 ORDER BY objid", [pid])).rows.map((r) => r.key);
    let whileWaiting: string[] | undefined;
    const acquired = acquireLocks(waiter, keys, {
      timeoutMs: 60_000,
      operation: 'apply pending migrations: take the migration lock',
      onWait: () => void heldBy(waiterPid).then((held) => (whileWaiting = held)),
    });
    await waitFor(async () => whileWaiting !== undefined, 'the first wait');
    expect(whileWaiting).toEqual(whileWaitingExpected);
    await holder.query('SELECT pg_advisory_unlock_all()');
    await acquired;
    expect(await heldBy(waiterPid)).toEqual(keys.map(String));
    // Each key taken exactly once: one release each leaves none.
    await releaseLocks(waiter, keys);
    expect(await heldBy(waiterPid)).toEqual([]);
  });

  it('stops waiting when its signal is aborted, leaving no timer behind', async () => {
    const db = await database('lock_abort');
    const key = 4242n;
    const holder = await client(db.url);
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [key.toString()]);
    const waiter = await client(db.url);
    const timersBefore = timers();
    const controller = new AbortController();
    const err = await acquireLocks(waiter, [key], {
      timeoutMs: 600_000,
      operation: 'apply pending migrations: take the migration lock',
      signal: controller.signal,
      onWait: () => setImmediate(() => controller.abort('SIGTERM')),
    }).catch((e) => e);
    expect(err.code).toBe('INTERRUPTED');
    expect(err.data.signal).toBe('SIGTERM');
    expect(err.reason).toBe('interrupted: nothing was changed: the migration lock was never taken');
    expect(timers()).toBe(timersBefore);
    const held = await waiter.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
    expect(held.rows[0].n).toBe(0);
  });
});
