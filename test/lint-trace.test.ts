import { describe, expect, inject, it } from 'vitest';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { lintMigrations, loadSettings, migrate, RULE_IDS, RULES, type LintReport } from '../src/index.js';
import { createTestDatabase } from './helpers/db.js';
import { ROOT, collect, runCli, spawnCli } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';
import { migrationsDir } from './helpers/migrations.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/lint');
const TRACED_RULES = RULE_IDS.filter((r) => !['ignore-without-reason', 'unmatched-ignore', 'enum-add-value-in-transaction', 'parse-error'].includes(r));
const SERVERS = [['PostgreSQL 18', () => inject('pg18Url')], ['PostgreSQL 15', () => inject('pgToolsUrl')]] as const;

async function fixtureSql(rule: string): Promise<string[]> {
  const full = path.join(FIXTURES, `${rule}.bad.sql`);
  if (!(await stat(full)).isDirectory()) return [await readFile(full, 'utf8')];
  const names = (await readdir(full)).sort();
  return Promise.all(names.map((n) => readFile(path.join(full, n), 'utf8')));
}

/**
 * The production schema as migration 1, applied; the bad fixture's files as
 * the pending migrations 2, 3, ...: linted with the server's catalog, then
 * traced on a scratch database that gets migration 1 first.
 */
async function traceFixture(rule: string, serverUrl: string): Promise<{ report: LintReport; url: string }> {
  const files: Record<string, string> = { '1_schema.up.sql': await readFile(path.join(FIXTURES, 'schema.sql'), 'utf8') };
  (await fixtureSql(rule)).forEach((sql, i) => (files[`${i + 2}_fixture.up.sql`] = sql));
  const { project, dir } = await migrationsDir(files);
  const db = await createTestDatabase(`trace_${rule}`, serverUrl);
  const settings = (lint: boolean) => loadSettings({ cwd: project, migrationsDir: dir, env: { DATABASE_URL: db.url, TIDEMARK_DDL_LOCK_TIMEOUT: '0' }, lint });
  await migrate(settings(false), { steps: 1 });
  return { report: await lintMigrations(settings(true), { trace: true }), url: db.url };
}

describe.each(SERVERS)('migrate:lint --trace on %s', (_label, serverUrl) => {
  it.each(TRACED_RULES)('%s: the trace shows the lock and rewrite the rule claims, 0 disagreements', async (rule) => {
    const { report } = await traceFixture(rule, serverUrl());
    const findings = report.findings.filter((f) => f.rule === rule);
    expect(findings.length, JSON.stringify(report.findings)).toBeGreaterThan(0);
    expect(report.trace, JSON.stringify(report.findings.map((f) => [f.rule, f.line, f.trace?.differences]))).toMatchObject({ disagreements: 0, startingVersion: '1' });
    for (const f of findings) {
      expect(f.trace, `${rule}: ${JSON.stringify(f)}`).toBeDefined();
      // The server confirms what the rule says of a CONCURRENTLY in a transaction: it refuses it.
      if (rule === 'concurrently-in-transaction') expect(f.trace!.error, rule).toMatch(/cannot run inside a transaction block/);
      else expect(f.trace!.error, rule).toBeUndefined();
      expect(f.trace!.differences, rule).toEqual([]);
      // Where the statement ran in a transaction of its own, its lock was read, and it is the one the rule names.
      if (f.lock && f.trace!.lock !== undefined) expect(f.trace!.lock, rule).toBe(f.lock.mode);
      if (RULES[rule].summary.includes('rewrites')) expect(f.trace!.rewrite, rule).toBe(true);
    }
  });
});

describe('migrate:lint --trace (command line)', () => {
  it('shows the trace beside each finding and drops its scratch database', async () => {
    const files = {
      '1_schema.up.sql': await readFile(path.join(FIXTURES, 'schema.sql'), 'utf8'),
      '2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX orders_status ON orders (status);\n",
    };
    const { project } = await migrationsDir(files);
    const db = await createTestDatabase('trace_cli');
    const env = { DATABASE_URL: db.url };
    expect((await runCli('migrate', ['--steps', '1'], { cwd: project, env })).code).toBe(0);
    const result = await runCli('migrate:lint', ['--trace'], { cwd: project, env });
    expect(result.stdout).toContain('migrations/2_index.up.sql:2:1: notice index-not-concurrent');
    expect(result.stdout).toContain('  trace: as claimed\n');
    expect(result.stdout).toContain('Traced 2 statements on a scratch database from version 1: 0 disagreements.');
    expect(result.code, result.stderr).toBe(0);
    const admin = new pg.Client({ connectionString: inject('pg18Url') });
    await admin.connect();
    try {
      const { rows } = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'tidemark\\_scratch\\_%' AND shobj_description(oid, 'pg_database') LIKE '%lint-trace%'");
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });

  it('needs a database: without one it is CONFIG_INVALID, exit 2', async () => {
    const { project } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);' });
    const result = await runCli('migrate:lint', ['--trace'], { cwd: project });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^CONFIG_INVALID: the trace needs a database/);
  });

  it('--all traces every migration from an empty scratch database, running none twice; --offline with --trace is a usage error', async () => {
    const { project } = await migrationsDir({
      '1_t.up.sql': 'CREATE TABLE t (id int);', '2_i.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX t_id ON t (id);\n",
    });
    const db = await createTestDatabase('trace_all');
    const env = { DATABASE_URL: db.url };
    expect((await runCli('migrate', [], { cwd: project, env })).code).toBe(0);
    const all = await runCli('migrate:lint', ['--all', '--trace'], { cwd: project, env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('Traced 3 statements on a scratch database from version none: 0 disagreements.');
    expect(all.stderr).not.toContain('incomplete');
    expect(all.stderr).not.toContain('Warning');
    const offline = await runCli('migrate:lint', ['--trace', '--offline'], { cwd: project, env });
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(/^INVALID_ARGUMENT: the trace needs a database/);
  });

  it('SIGINT cancels the statement running on the scratch database, drops it and exits 130', async () => {
    const { project } = await migrationsDir({ '1_slow.up.sql': 'SELECT pg_sleep(60);\n' });
    const db = await createTestDatabase('trace_sigint');
    const child = spawnCli('migrate:lint', ['--trace'], { cwd: project, env: { DATABASE_URL: db.url } });
    const ended = collect(child);
    const admin = new pg.Client({ connectionString: inject('pg18Url') });
    await admin.connect();
    try {
      const scratch = await waitFor(async () => (await admin.query(
        "SELECT datname FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND datname LIKE 'tidemark\\_scratch\\_%'")).rows[0]?.datname as string | undefined, 'the trace to run the slow statement');
      child.kill('SIGINT');
      const result = await ended;
      expect(result.code).toBe(130);
      expect(result.stderr).toContain('INTERRUPTED');
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [scratch])).rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
