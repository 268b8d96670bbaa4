import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';

// Schema-per-tenant: 200 tenant schemas in one database, each with its own
// version table, history and lock key, migrated by one command.
const TENANTS = 200;
const POISONED = 'tenant_137';
const schemas = Array.from({ length: TENANTS }, (_, i) => `tenant_${String(i).padStart(3, '0')}`);
const MIGRATIONS = {
  '1_orders.up.sql': 'CREATE TABLE orders (id int PRIMARY KEY, account_id int);',
  '2_seed.up.sql': 'INSERT INTO orders VALUES (1, 1);',
  '3_email_check.up.sql': "ALTER TABLE accounts ADD CONSTRAINT accounts_email_at CHECK (email LIKE '%@%');",
};
const TENANT_SQL = "SELECT nspname AS schema FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY 1";

/** Every tenant schema with an accounts table (one row); the poisoned one holds a row the new constraint refuses. */
async function tenantDatabase(label: string, poisoned?: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await db.query(`DO $$ BEGIN FOR i IN 0..${TENANTS - 1} LOOP
    EXECUTE format('CREATE SCHEMA %I; CREATE TABLE %I.accounts (id int, email text); INSERT INTO %I.accounts VALUES (1, %L)',
      'tenant_' || lpad(i::text, 3, '0'), 'tenant_' || lpad(i::text, 3, '0'), 'tenant_' || lpad(i::text, 3, '0'), 'a@example.com');
  END LOOP; END $$`);
  if (poisoned) await db.query(`INSERT INTO ${poisoned}.accounts VALUES (2, 'nobody')`);
  return db;
}

/** Each schema's history: schema → up versions in order. */
async function histories(db: TestDatabase, names: string[]): Promise<Map<string, number[]>> {
  const union = names.map((s) => `SELECT '${s}' AS s, id, version::int AS v FROM ${s}.schema_migrations_history WHERE direction = 'up'`).join(' UNION ALL ');
  const { rows } = await db.query(`SELECT s, array_agg(v ORDER BY id) AS versions FROM (${union}) h GROUP BY s`);
  return new Map(rows.map((r) => [r.s, r.versions]));
}

async function versions(db: TestDatabase, names: string[]): Promise<Map<string, string>> {
  const union = names.map((s) => `SELECT '${s}' AS s, version, dirty FROM ${s}.schema_migrations`).join(' UNION ALL ');
  const { rows } = await db.query(union);
  return new Map(rows.map((r) => [r.s, `${r.version}${r.dirty ? ' dirty' : ''}`]));
}

describe('migrate on 200 tenant schemas of one database', () => {
  let db: TestDatabase;
  let dir: string;
  let project: string;
  beforeAll(async () => {
    db = await tenantDatabase('fleet_schemas', POISONED);
    ({ dir, project } = await migrationsDir(MIGRATIONS));
  });
  afterAll(() => db.close());

  it('under --on-error continue: 199 applied, the poisoned one failed with its SQLSTATE; --resume after the fix runs only that one', async () => {
    const report = path.join(project, 'report.json');
    const run = await runCli('migrate', ['--dir', dir, '--targets-sql', TENANT_SQL, '--parallel', '8', '--on-error', 'continue', '--report', report], { env: { DATABASE_URL: db.url } });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('FLEET_FAILED: 1 of 200 targets did not finish');
    // Hundreds of targets leave no listener behind on the run's signals (Node warns past ten).
    expect(run.stderr).not.toContain('MaxListenersExceededWarning');
    expect(run.stdout).toMatch(new RegExp(`FAILED\\s+\\S+:${POISONED}\\s+MIGRATION_UP_FAILED \\(SQLSTATE 23514\\)`));
    expect(run.stdout).toMatch(/done\s+\S+:tenant_000\s+none → 3, 3 migrations applied/);
    expect(run.stdout).toContain('migrate on 200 targets: 199 done, 1 failed (8 at a time');
    const written = JSON.parse(await readFile(report, 'utf8'));
    expect(written.counts).toMatchObject({ total: 200, done: 199, failed: 1, notStarted: 0 });
    const failed = written.targets.filter((t: { state: string }) => t.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ name: expect.stringContaining(POISONED), error: { code: 'MIGRATION_UP_FAILED', sqlstate: '23514' } });
    // Each schema: its own version table and history, every migration exactly once.
    const others = schemas.filter((s) => s !== POISONED);
    const history = await histories(db, schemas);
    for (const s of others) expect(history.get(s), s).toEqual([1, 2, 3]);
    expect(history.get(POISONED)).toEqual([1, 2]);
    const state = await versions(db, schemas);
    for (const s of others) expect(state.get(s), s).toBe('3');
    expect(state.get(POISONED)).toBe('2');
    const lastWrite = (await db.query(`SELECT max(started_at) AS at FROM (${others.map((s) => `SELECT started_at FROM ${s}.schema_migrations_history`).join(' UNION ALL ')}) h`)).rows[0].at;

    await db.query(`UPDATE ${POISONED}.accounts SET email = 'fixed@example.com' WHERE id = 2`);
    const resumed = await runCli('migrate', ['--dir', dir, '--targets-sql', TENANT_SQL, '--parallel', '8', '--resume', report, '--json'], { env: { DATABASE_URL: db.url } });
    expect(resumed.code, resumed.stderr).toBe(0);
    const again = JSON.parse(resumed.stdout);
    expect(again.counts).toMatchObject({ total: 200, done: 1, skipped: 199, failed: 0 });
    expect(again.targets.find((t: { state: string }) => t.state === 'done')).toMatchObject({ name: expect.stringContaining(POISONED), before: 2, after: 3, applied: 1 });
    expect((await histories(db, [POISONED])).get(POISONED)).toEqual([1, 2, 3]);
    // The other 199 were not touched: no history row after the first run's last.
    const after = (await db.query(`SELECT max(started_at) AS at, count(*)::int AS n FROM (${others.map((s) => `SELECT started_at FROM ${s}.schema_migrations_history`).join(' UNION ALL ')}) h`)).rows[0];
    expect(after).toEqual({ at: lastWrite, n: 199 * 3 });
  });
});

describe('--on-error stop', () => {
  it('starts no target after the first failure; the rest are reported as not started and left untouched', async () => {
    const db = await tenantDatabase('fleet_stop', 'tenant_002');
    try {
      const { dir } = await migrationsDir(MIGRATIONS);
      const sql = "SELECT nspname AS schema FROM pg_namespace WHERE nspname ~ '^tenant_0[0-3][0-9]$' ORDER BY 1";
      const run = await runCli('migrate', ['--dir', dir, '--targets-sql', sql, '--parallel', '2', '--json'], { env: { DATABASE_URL: db.url } });
      expect(run.code, run.stderr).toBe(1);
      const report = JSON.parse(run.stdout);
      expect(report.onError).toBe('stop');
      const failed = report.targets.find((t: { state: string }) => t.state === 'failed');
      expect(failed).toMatchObject({ name: expect.stringContaining('tenant_002'), error: { sqlstate: '23514' } });
      const failedAt = Date.parse(failed.startedAt) + failed.durationMs;
      const began = report.targets.filter((t: { startedAt?: string }) => t.startedAt);
      for (const t of began) expect(Date.parse(t.startedAt), t.name).toBeLessThanOrEqual(failedAt);
      const notStarted = report.targets.filter((t: { state: string }) => t.state === 'not-started');
      expect(notStarted.length).toBeGreaterThan(30);
      expect(notStarted[0].note).toContain('not started: target 3 failed (--on-error stop)');
      expect(report.counts.total).toBe(40);
      // A target never started has no version table.
      const untouched = notStarted.map((t: { name: string }) => t.name.split(':')[1]);
      const { rows } = await db.query('SELECT count(*)::int AS n FROM unnest($1::text[]) s WHERE to_regclass(s || \'.schema_migrations\') IS NOT NULL', [untouched]);
      expect(rows[0].n).toBe(0);
      expect(run.stderr).toContain('FLEET_FAILED');
    } finally {
      await db.close();
    }
  });

  it('--canary 1: the first target runs alone and its failure stops the run, whatever --on-error says', async () => {
    const db = await tenantDatabase('fleet_canary', 'tenant_000');
    try {
      const { dir } = await migrationsDir(MIGRATIONS);
      const run = await runCli('migrate', ['--dir', dir, '--targets-sql', TENANT_SQL, '--canary', '1', '--on-error', 'continue', '--json'], { env: { DATABASE_URL: db.url } });
      expect(run.code, run.stderr).toBe(1);
      const report = JSON.parse(run.stdout);
      expect(report.counts).toMatchObject({ total: 200, failed: 1, done: 0, notStarted: 199 });
      expect(report.targets[1].note).toBe('not started: canary target 1 failed');
    } finally {
      await db.close();
    }
  });
});
