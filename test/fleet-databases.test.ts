import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createTestDatabase, databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { tempDir } from './helpers/backup.js';
import { loadSettings, migrateFleet } from '../src/index.js';

const MIGRATIONS = {
  '1_items.up.sql': 'CREATE TABLE items (id int PRIMARY KEY, name text);',
  '2_seed.up.sql': "INSERT INTO items VALUES (1, 'one');",
  '3_index.up.sql': 'CREATE INDEX items_name ON items (name);',
};

/** The server URL's password, written as ${FLEET_PW} so that it comes from the environment. */
function withVariable(url: string): { line: string; password: string } {
  const password = decodeURIComponent(new URL(url).password);
  return { line: url.replace(new URL(url).password, '${FLEET_PW}'), password };
}

/** The database's version row and its up history, as `version [dirty]` and the versions in order. */
async function stateOf(url: string, schema = 'public'): Promise<{ version: string; ups: number[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const v = await client.query(`SELECT version, dirty FROM ${schema}.schema_migrations`);
    const h = await client.query(`SELECT version::int AS v FROM ${schema}.schema_migrations_history WHERE direction = 'up' ORDER BY id`);
    return { version: `${v.rows[0].version}${v.rows[0].dirty ? ' dirty' : ''}`, ups: h.rows.map((r) => r.v) };
  } finally {
    await client.end();
  }
}

const servers = [
  ['PostgreSQL 18 (embedded)', () => inject('pg18Url')],
  ['PostgreSQL 15 (Debian)', () => inject('pgToolsUrl')],
] as const;

describe.each(servers)('database-per-tenant and schema-per-tenant on %s', (_label, server) => {
  it('20 databases and 200 schemas of one database, listed in one targets file, all migrated in parallel, each exactly once', async () => {
    const databases: TestDatabase[] = await Promise.all(Array.from({ length: 20 }, (_, i) => createTestDatabase(`fleet_db${i}`, server())));
    const shared = await createTestDatabase('fleet_shared', server());
    try {
      await shared.query("DO $$ BEGIN FOR i IN 1..200 LOOP EXECUTE format('CREATE SCHEMA %I', 'tenant_' || i); END LOOP; END $$");
      const { dir, project } = await migrationsDir(MIGRATIONS);
      const { password } = withVariable(shared.url);
      const lines = ['# database per tenant', ...databases.map((db) => withVariable(db.url).line), '', '# schema per tenant'];
      for (let i = 1; i <= 200; i++) lines.push(`${withVariable(shared.url).line}?search_path=tenant_${i}   # tenant ${i}`);
      await writeFile(path.join(project, 'targets.txt'), `${lines.join('\n')}\n`);
      const report = path.join(project, 'report.json');
      const run = await runCli('migrate', ['--dir', dir, '--targets', 'targets.txt', '--parallel', '8', '--report', report], { cwd: project, env: { FLEET_PW: password } });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('migrate on 220 targets: 220 done (8 at a time');
      const written = await readFile(report, 'utf8');
      for (const text of [run.stdout, run.stderr, written]) expect(text).not.toContain(password);
      for (const db of databases) expect(await stateOf(db.url)).toEqual({ version: '3', ups: [1, 2, 3] });
      const { rows } = await shared.query(unionOfSchemas(200));
      expect(rows).toHaveLength(200);
      for (const r of rows) expect(r, r.s).toMatchObject({ version: 3, dirty: false, ups: [1, 2, 3] });
      // The migrations went into each tenant's schema, not into public.
      expect((await shared.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'items'")).rows[0].n).toBe(200);
      expect((await shared.query("SELECT to_regclass('public.items') AS t")).rows[0].t).toBeNull();
    } finally {
      await Promise.all([...databases, shared].map((db) => db.close()));
    }
  });
});

/** Every tenant schema's version row and its up history, one row a schema. */
function unionOfSchemas(count: number): string {
  return Array.from({ length: count }, (_, i) => `tenant_${i + 1}`).map((s) => `SELECT '${s}' AS s, v.version::int AS version, v.dirty,
    (SELECT array_agg(version::int ORDER BY id) FROM ${s}.schema_migrations_history WHERE direction = 'up') AS ups FROM ${s}.schema_migrations v`).join(' UNION ALL ');
}

describe('failures of their own, under --on-error continue', () => {
  const database = databasesClosedAfterEach();

  it('an unreachable target, a dirty one and one with a changed migration each fail with their code; the others are migrated; the password never shows', async () => {
    const [good, dirty, changed] = await Promise.all(['fleet_good', 'fleet_dirty', 'fleet_changed'].map((l) => database(l)));
    const { dir, project } = await migrationsDir(MIGRATIONS);
    await runCli('migrate', ['--dir', dir, '--steps', '1'], { env: { DATABASE_URL: dirty.url } });
    await dirty.query('UPDATE schema_migrations SET dirty = true');
    await runCli('migrate', ['--dir', dir, '--steps', '2'], { env: { DATABASE_URL: changed.url } });
    await changed.query("UPDATE schema_migrations_history SET checksum = repeat('0', 64) WHERE version = 1");
    const { line: goodLine, password } = withVariable(good.url);
    const unreachable = goodLine.replace(/@[^/]+\//, '@127.0.0.1:1/');
    const targets = [goodLine, unreachable, withVariable(dirty.url).line, withVariable(changed.url).line].join('\n');
    await writeFile(path.join(project, 'targets'), targets);
    const report = path.join(project, 'report.json');
    const run = await runCli('migrate', ['--dir', dir, '--targets', 'targets', '--on-error', 'continue', '--report', report, '--json'], { cwd: project, env: { FLEET_PW: password } });
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout);
    expect(result.targets.map((t: { state: string; error?: { code: string } }) => t.error?.code ?? t.state))
      .toEqual(['done', 'DB_CONNECT_FAILED', 'MIGRATION_DIRTY', 'MIGRATION_CHECKSUM_MISMATCH']);
    expect(result.counts).toMatchObject({ total: 4, done: 1, failed: 3 });
    expect(JSON.parse(run.stderr).error).toMatchObject({ code: 'FLEET_FAILED', message: '3 of 4 targets did not finish' });
    for (const text of [run.stdout, run.stderr, await readFile(report, 'utf8')]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(encodeURIComponent(password));
    }
    expect(await stateOf(good.url)).toEqual({ version: '3', ups: [1, 2, 3] });
    expect(await stateOf(dirty.url)).toEqual({ version: '1 dirty', ups: [1] });
    expect(await stateOf(changed.url)).toEqual({ version: '2', ups: [1, 2] });
  });

  it('a ${VAR} that is not set, or an unreadable line, is a usage error naming the line, and nothing runs', async () => {
    const db = await database('fleet_usage');
    const { dir, project } = await migrationsDir(MIGRATIONS);
    await writeFile(path.join(project, 'targets'), `${withVariable(db.url).line}\n# comment\npostgres://u:\${NOT_SET_ANYWHERE}@127.0.0.1/x\n`);
    const run = await runCli('migrate', ['--dir', dir, '--targets', 'targets'], { cwd: project, env: { FLEET_PW: 'x' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FLEET_TARGETS_INVALID: invalid fleet targets\n  operation: read targets line 3\n  error: ${NOT_SET_ANYWHERE} is not set');
    expect((await db.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t).toBeNull();
    const stray = await runCli('migrate', ['--dir', dir, '--parallel', '3'], { env: { DATABASE_URL: db.url } });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--parallel applies to a fleet run');
    await writeFile(path.join(project, 'one'), db.url);
    const unwritable = await runCli('migrate', ['--dir', dir, '--targets', 'one', '--report', 'missing/dir/report.json'], { cwd: project });
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toContain('FLEET_FAILED: cannot write the fleet report\n  operation: write missing/dir/report.json');
    expect((await db.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t).toBeNull();
  });
});

describe('the other fleet commands', () => {
  const database = databasesClosedAfterEach();

  it('migrate:status, migrate:verify and db:check run on every target and report each', async () => {
    const dbs = await Promise.all(['fleet_st1', 'fleet_st2'].map((l) => database(l)));
    const { dir, project } = await migrationsDir({ ...MIGRATIONS, '3_index.down.sql': 'DROP INDEX items_name;' });
    await runCli('migrate', ['--dir', dir, '--steps', '2'], { env: { DATABASE_URL: dbs[1].url } });
    await writeFile(path.join(project, 'targets'), dbs.map((db) => db.url).join('\n'));
    const status = await runCli('migrate:status', ['--dir', dir, '--targets', 'targets', '--json', '--exit-code'], { cwd: project });
    expect(status.code, status.stderr).toBe(3);
    expect(JSON.parse(status.stdout).targets.map((t: { after: number | null; detail: { pending: number } }) => [t.after, t.detail.pending])).toEqual([[null, 3], [2, 1]]);
    const verify = await runCli('migrate:verify', ['--dir', dir, '--targets', 'targets'], { cwd: project });
    // The first target has every migration pending, and 1 and 2 have no down file; the second only 3, which has.
    expect(verify.code, verify.stderr).toBe(1);
    expect(verify.stdout).toMatch(new RegExp(`FAILED\\s+${dbs[0].name}\\s+VERIFY_DOWN_MISSING: 1_items.up.sql has no down file`));
    expect(verify.stdout).toMatch(new RegExp(`done\\s+${dbs[1].name}\\s+1 of 1 migration verified`));
    const check = await runCli('db:check', ['--dir', dir, '--targets', 'targets', '--json'], { cwd: project });
    // db:check fails a database with pending migrations, as it does for one database.
    expect(check.code).toBe(1);
    const checked = JSON.parse(check.stdout);
    expect(checked.targets.map((t: { error?: { code: string } }) => t.error?.code)).toEqual(['CHECK_FAILED', 'CHECK_FAILED']);
    expect(checked.targets[0].error.cause).toContain('migrations: 3 pending');
  });

  it('backup:create writes one dump per target into its own subdirectory, with the usual names and manifests', async () => {
    const server = inject('pgToolsUrl');
    const dbs = await Promise.all(['fleet_bk1', 'fleet_bk2'].map((l) => database(l, server)));
    for (const db of dbs) await db.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
    const backups = await tempDir('fleet-backups');
    const project = await tempDir('fleet-backup-project');
    await writeFile(path.join(project, 'targets'), dbs.map((db) => db.url).join('\n'));
    const run = await runCli('backup:create', ['--targets', 'targets', '--prune', '--json'], { cwd: project, env: { BACKUP_DIR: backups, PG_BIN_DIR: inject('pgToolsBinDir') } });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.counts).toMatchObject({ total: 2, done: 2 });
    for (const db of dbs) {
      const files = await readdir(path.join(backups, db.name));
      expect(files.sort()).toEqual([expect.stringMatching(new RegExp(`^${db.name}_\\d{8}_\\d{6}\\.dump$`)), expect.stringMatching(/\.dump\.manifest\.json$/)]);
    }
    expect(report.targets.map((t: { detail: { verified: boolean; pruned: number } }) => [t.detail.verified, t.detail.pruned])).toEqual([[true, 0], [true, 0]]);
    const schemaTargets = await runCli('backup:create', ['--targets-sql', "SELECT 'public' AS schema"], { cwd: project, env: { BACKUP_DIR: backups, DATABASE_URL: dbs[0].url } });
    expect(schemaTargets.code).toBe(2);
    expect(schemaTargets.stderr).toContain('is a schema target: pg_dump of it would dump its whole database');
  });

  it('the API: migrateFleet runs the same in-process, with a report', async () => {
    const dbs = await Promise.all(['fleet_api1', 'fleet_api2'].map((l) => database(l)));
    const { dir, project } = await migrationsDir(MIGRATIONS);
    await writeFile(path.join(project, 'targets'), dbs.map((db) => db.url).join('\n'));
    const settings = loadSettings({ cwd: project, env: {}, migrationsDir: dir, requireDatabase: false });
    const report = await migrateFleet(settings, { file: 'targets' }, { parallel: 2, steps: 2 });
    expect(report).toMatchObject({ ok: true, command: 'migrate', counts: { total: 2, done: 2 } });
    expect(report.targets.map((t) => [t.before, t.after, t.applied])).toEqual([[null, 2n, 2], [null, 2n, 2]]);
  });
});
