import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';
import { advisoryLockKey } from '../src/migrate/state/lock-key.js';

// Migration 2 reads public.gate: a test that holds an ACCESS EXCLUSIVE lock
// on it holds every target in the middle of migration 2. Migration 1 reads
// the tenant's own `setup` table: a lock on one tenant's holds that tenant
// in migration 1, and a value that is not a number there makes it fail.
const MIGRATIONS = {
  '1_a.up.sql': 'CREATE TABLE a (id int);\nINSERT INTO a SELECT v::int FROM setup;',
  '2_wait.up.sql': 'CREATE TABLE b (id int);\nSELECT count(*) FROM public.gate;',
  '3_c.up.sql': 'CREATE TABLE c (id int);',
};
const tenantsSql = (count: number) => `SELECT 'tenant_' || i AS schema FROM generate_series(1, ${count}) i ORDER BY i`;
// No lock_timeout: the migrations wait on the gate as long as the test holds it.
const NO_DDL_TIMEOUT = ['--ddl-lock-timeout', '0'];

async function tenants(db: TestDatabase, count: number): Promise<string[]> {
  await db.query(`CREATE TABLE public.gate (id int); DO $$ BEGIN FOR i IN 1..${count} LOOP
    EXECUTE format('CREATE SCHEMA %1$I; CREATE TABLE %1$I.setup (v text); INSERT INTO %1$I.setup VALUES (''1'')', 'tenant_' || i);
  END LOOP; END $$`);
  return Array.from({ length: count }, (_, i) => `tenant_${i + 1}`);
}

async function lockGate(db: TestDatabase, table = 'public.gate'): Promise<pg.Client> {
  const blocker = new pg.Client({ connectionString: db.url });
  blocker.on('error', () => undefined);
  await blocker.connect();
  await blocker.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return blocker;
}

/** How many tidemark sessions wait for a lock in the database. */
async function waiting(db: TestDatabase): Promise<number> {
  const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark' AND wait_event_type = 'Lock'");
  return rows[0].n;
}

/** Per schema: version (or none), dirty, and which of the tables a, b, c exist. */
async function schemaStates(db: TestDatabase, schemas: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const s of schemas) {
    const tables = (await db.query(`SELECT string_agg(t, '') AS t FROM unnest(array['a','b','c']) t WHERE to_regclass('${s}.' || t) IS NOT NULL`)).rows[0].t ?? '';
    const hasVersion = (await db.query(`SELECT to_regclass('${s}.schema_migrations') AS t`)).rows[0].t;
    const version = hasVersion ? (await db.query(`SELECT version || CASE WHEN dirty THEN ' dirty' ELSE '' END AS v FROM ${s}.schema_migrations`)).rows[0]?.v ?? 'none' : 'none';
    found.set(s, `${version} ${tables}`.trim());
  }
  return found;
}

async function upHistory(db: TestDatabase, schema: string): Promise<number[]> {
  return (await db.query(`SELECT version::int AS v FROM ${schema}.schema_migrations_history WHERE direction = 'up' ORDER BY id`)).rows.map((r) => r.v);
}

const readReport = async (file: string) => JSON.parse(await readFile(file, 'utf8').catch(() => 'null'));

describe('a fleet run stopped from outside', () => {
  const database = databasesClosedAfterEach();

  it('SIGKILL of the whole command mid-run leaves every target consistent; --resume with its report completes them', async () => {
    const db = await database('fleet_kill');
    const schemas = await tenants(db, 12);
    const { dir, project } = await migrationsDir(MIGRATIONS);
    const report = path.join(project, 'report.json');
    const blocker = await lockGate(db);
    const child = spawnCli('migrate', ['--dir', dir, '--targets-sql', tenantsSql(12), '--parallel', '4', '--report', report, ...NO_DDL_TIMEOUT], { env: { DATABASE_URL: db.url } });
    const exited = collect(child);
    await waitFor(async () => (await waiting(db)) === 4, 'four targets to wait in migration 2');
    await waitFor(async () => (await readReport(report))?.targets.filter((t: { state: string }) => t.state === 'running').length === 4, 'the report to list four running');
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    // Mid-run: migration 1 committed where it ran, nothing of migration 2 visible, nothing dirty.
    const states = await schemaStates(db, schemas);
    expect([...states.values()].filter((s) => s === '1 a')).toHaveLength(4);
    expect([...states.values()].filter((s) => s === 'none')).toHaveLength(8);
    const left = await readReport(report);
    expect(left.counts).toMatchObject({ total: 12, done: 0, notStarted: 12 });

    await blocker.query('ROLLBACK');
    await blocker.end();
    const resumed = await runCli('migrate', ['--dir', dir, '--targets-sql', tenantsSql(12), '--resume', report, '--lock-timeout', '60s', '--json'], { env: { DATABASE_URL: db.url } });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).counts).toMatchObject({ total: 12, done: 12 });
    for (const s of schemas) {
      expect((await schemaStates(db, [s])).get(s), s).toBe('3 abc');
      expect(await upHistory(db, s), s).toEqual([1, 2, 3]);
    }
  });

  it('SIGINT: no new target starts, the running ones are cancelled on the server; the report says which are done, interrupted, not started; exit 130', async () => {
    const db = await database('fleet_sigint');
    const schemas = await tenants(db, 8);
    const { dir } = await migrationsDir(MIGRATIONS);
    const blocker = await lockGate(db);
    try {
      const child = spawnCli('migrate', ['--dir', dir, '--targets-sql', tenantsSql(8), '--parallel', '2', '--json', ...NO_DDL_TIMEOUT], { env: { DATABASE_URL: db.url } });
      const exited = collect(child);
      await waitFor(async () => (await waiting(db)) === 2, 'two targets to wait in migration 2');
      // Each tenant's migration lock is golang-migrate's key for its database, schema and table (URL path and current_database()).
      const held = await db.query("SELECT objid::bigint AS key FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
      const expected = ['tenant_1', 'tenant_2'].flatMap((s) => [advisoryLockKey(db.name, s, 'schema_migrations'), advisoryLockKey(`/${db.name}`, s, 'schema_migrations')]);
      expect(held.rows.map((r) => BigInt(r.key)).sort()).toEqual(expected.sort());
      child.kill('SIGINT');
      const result = await exited;
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toContain('"code": "INTERRUPTED"');
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ signal: 'SIGINT', ok: false, counts: { total: 8, done: 0, interrupted: 2, notStarted: 6 } });
      expect(report.targets.slice(0, 2).map((t: { state: string }) => t.state)).toEqual(['interrupted', 'interrupted']);
      expect(report.targets[0].note).toContain('cancelled on the server');
      expect(report.targets[7]).toMatchObject({ state: 'not-started', note: 'not started: SIGINT received' });
      // Cancelled on the server while the gate is still held: nothing waits, migration 2 rolled back.
      expect(await waiting(db)).toBe(0);
      const states = await schemaStates(db, schemas);
      expect(states.get('tenant_1')).toBe('1 a');
      expect(states.get('tenant_2')).toBe('1 a');
      for (const s of schemas.slice(2)) expect(states.get(s), s).toBe('none');
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
  });

  it('under --on-error stop, a target running when another fails finishes its current migration and starts no next one', async () => {
    const db = await database('fleet_finish');
    await tenants(db, 4);
    // tenant_2's migration 1 fails (invalid_text_representation) once the test lets it read its setup table.
    await db.query("UPDATE tenant_2.setup SET v = 'not a number'");
    const { dir, project } = await migrationsDir(MIGRATIONS);
    const report = path.join(project, 'report.json');
    const blocker = await lockGate(db);
    const tenant2 = await lockGate(db, 'tenant_2.setup');
    const child = spawnCli('migrate', ['--dir', dir, '--targets-sql', tenantsSql(4), '--parallel', '2', '--report', report, '--json', ...NO_DDL_TIMEOUT], { env: { DATABASE_URL: db.url } });
    const exited = collect(child);
    await waitFor(async () => (await waiting(db)) === 2, 'tenant_1 to wait in migration 2 and tenant_2 in migration 1');
    await tenant2.query('ROLLBACK');
    await tenant2.end();
    await waitFor(async () => (await readReport(report))?.counts.failed === 1, 'tenant_2 to fail');
    expect(await waiting(db)).toBe(1);
    await blocker.query('ROLLBACK');
    await blocker.end();
    const result = await exited;
    expect(result.code, result.stderr).toBe(1);
    const final = JSON.parse(result.stdout);
    expect(final.targets.map((t: { state: string }) => t.state)).toEqual(['stopped', 'failed', 'not-started', 'not-started']);
    expect(final.targets[1].error).toMatchObject({ code: 'MIGRATION_UP_FAILED', sqlstate: '22P02' });
    expect(final.targets[0].note).toContain('stopped after another target failed: 2 of 3 migrations ran and stay applied');
    expect((await schemaStates(db, ['tenant_1'])).get('tenant_1')).toBe('2 ab');
  });
});

describe('two fleet runs at once', () => {
  const database = databasesClosedAfterEach();

  it('apply each migration once per target: each target\'s own lock serialises them', async () => {
    const db = await database('fleet_twice');
    const schemas = await tenants(db, 20);
    const { dir } = await migrationsDir(MIGRATIONS);
    const args = ['--dir', dir, '--targets-sql', tenantsSql(20), '--parallel', '4', '--lock-timeout', '60s', '--json'];
    const [first, second] = await Promise.all([runCli('migrate', args, { env: { DATABASE_URL: db.url } }), runCli('migrate', args, { env: { DATABASE_URL: db.url } })]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(second.stdout)];
    for (let i = 0; i < 20; i++) expect(a.targets[i].applied + b.targets[i].applied, schemas[i]).toBe(3);
    for (const s of schemas) expect(await upHistory(db, s), s).toEqual([1, 2, 3]);
  });
});
