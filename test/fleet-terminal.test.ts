import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { databasesClosedAfterEach } from './helpers/db.js';
import { ROOT } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { onTerminal, userEnv } from './helpers/go-task.js';

const database = databasesClosedAfterEach();

describe('a fleet run on a terminal', () => {
  it('redraws one progress line (finished, failed, running, ETA), clears it, then prints the report', async () => {
    const db = await database('fleet_terminal');
    await db.query(`DO $$ BEGIN FOR i IN 0..5 LOOP EXECUTE format('CREATE SCHEMA %I', 'tenant_' || i); END LOOP; END $$`);
    await db.query(`CREATE TABLE tenant_5.orders (id int)`);
    const { dir, project } = await migrationsDir({ '1_orders.up.sql': 'CREATE TABLE orders (id int PRIMARY KEY);', '2_note.up.sql': 'ALTER TABLE orders ADD COLUMN note text;' });
    const sql = "SELECT nspname AS schema FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY 1";
    // No prompt to answer: the driver only gives the command a terminal and gathers what it draws there.
    const ran = await onTerminal([process.execPath, path.join(ROOT, 'dist/tasks/migrate.js'), '--dir', dir, '--targets-sql', sql, '--parallel', '2', '--on-error', 'continue'],
      project, 'no prompt is ever printed', '', userEnv({ DATABASE_URL: db.url }));
    expect(ran.code, ran.stdout).toBe(1);
    const screen = ran.stdout;
    // Redrawn in place: a carriage return and erase-line before each state, the last one complete.
    expect(screen).toMatch(/\r\x1b\[Kmigrate: 1\/6 finished, [01] failed, \d running, ETA \d/);
    expect(screen).toMatch(/\r\x1b\[Kmigrate: 6\/6 finished, 1 failed, 0 running/);
    // Cleared before the report, which is one line per target.
    const report = screen.slice(screen.lastIndexOf('\r\x1b[K') + 4);
    expect(report).toMatch(/^done {9}\S+:tenant_0 +none → 2, 2 migrations applied/m);
    expect(report).toMatch(/^FAILED {7}\S+:tenant_5 +MIGRATION_UP_FAILED \(SQLSTATE 42P07\)/m);
    expect(report).toContain('migrate on 6 targets: 5 done, 1 failed');
    // No per-target plain lines: those are for logs, not terminals.
    expect(screen).not.toMatch(/^\[\d+\/6\]/m);
  });
});
