import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { databasesClosedAfterEach } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';

const database = databasesClosedAfterEach();

const MIGRATIONS = {
  '1_orders.up.sql': 'CREATE TABLE orders (id int PRIMARY KEY, account_id int);',
  '2_email_check.up.sql': "ALTER TABLE accounts ADD CONSTRAINT accounts_email_at CHECK (email LIKE '%@%');",
};
const TENANT_SQL = "SELECT nspname AS schema FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY 1";

describe('a fleet with a poisoned tenant on PostgreSQL 15', () => {
  it('under continue the others are migrated and the one is reported with its SQLSTATE; --resume after the fix runs only that one', async () => {
    const db = await database('fleet_pg15', inject('pgToolsUrl'));
    await db.query(`DO $$ BEGIN FOR i IN 0..19 LOOP
      EXECUTE format('CREATE SCHEMA %1$I; CREATE TABLE %1$I.accounts (id int, email text); INSERT INTO %1$I.accounts VALUES (1, %2$L)', 'tenant_' || lpad(i::text, 2, '0'), 'a@example.com');
    END LOOP; END $$`);
    await db.query(`INSERT INTO tenant_07.accounts VALUES (2, 'nobody')`);
    const { dir, project } = await migrationsDir(MIGRATIONS);
    const report = path.join(project, 'report.json');
    const env = { DATABASE_URL: db.url };
    const run = await runCli('migrate', ['--dir', dir, '--targets-sql', TENANT_SQL, '--parallel', '4', '--on-error', 'continue', '--report', report], { env });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/FAILED\s+\S+:tenant_07\s+MIGRATION_UP_FAILED \(SQLSTATE 23514\)/);
    expect(run.stdout).toContain('migrate on 20 targets: 19 done, 1 failed');
    const { rows } = await db.query(`SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'`);
    expect(rows).toHaveLength(20);
    const versions = new Map<string, string>();
    for (const { s } of rows) versions.set(s, (await db.query(`SELECT version || CASE WHEN dirty THEN ' dirty' ELSE '' END AS v FROM ${s}.schema_migrations`)).rows[0].v);
    for (const [s, v] of versions) expect(v, s).toBe(s === 'tenant_07' ? '1' : '2');

    await db.query(`UPDATE tenant_07.accounts SET email = 'fixed@example.com' WHERE id = 2`);
    const resumed = await runCli('migrate', ['--dir', dir, '--targets-sql', TENANT_SQL, '--resume', report, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).counts).toMatchObject({ total: 20, done: 1, skipped: 19, failed: 0 });
    expect((await db.query('SELECT version FROM tenant_07.schema_migrations')).rows[0].version).toBe('2');
  });
});
