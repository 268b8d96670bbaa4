import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';
import { DEMO_DIR, migrationsDir } from './helpers/migrations.js';

const database = databasesClosedAfterEach();

const cli = (db: TestDatabase, target: string, args: string[], dir = DEMO_DIR, env: Record<string, string> = {}) =>
  runCli(target, ['--dir', dir, ...args], { env: { DATABASE_URL: db.url, ...env } });

async function version(db: TestDatabase) {
  return (await db.query('SELECT version::text, dirty FROM schema_migrations')).rows;
}

async function tables(db: TestDatabase): Promise<string[]> {
  const { rows } = await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
  return rows.map((r) => r.tablename);
}

/** Everything in the catalog a migration could touch, to prove that nothing changed. */
async function catalogSnapshot(db: TestDatabase): Promise<string> {
  const { rows } = await db.query(`SELECT
    (SELECT string_agg(oid::text || relname || relkind::text, ',' ORDER BY oid) FROM pg_class WHERE relnamespace = 'public'::regnamespace),
    (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension),
    (SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)`);
  return JSON.stringify(rows[0]);
}

describe('migrate', () => {
  it('applies the demo migrations in order and reports each with its duration', async () => {
    const db = await database('up');
    const result = await cli(db, 'migrate', []);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/applied 1 create_users \(000001_create_users\.up\.sql\) in \d+ ms/);
    expect(result.stdout).toMatch(/applied 5 index_objects_concurrently .* no-transaction/);
    expect(result.stdout).toMatch(/Migrated from version none to 5 \(5 migrations/);
    expect(await version(db)).toEqual([{ version: '5', dirty: false }]);
    expect(await tables(db)).toEqual(['objects', 'repos', 'schema_migrations', 'schema_migrations_history', 'users']);
    const { rows } = await db.query("SELECT indexname FROM pg_indexes WHERE indexname IN ('objects_repo_path_idx', 'repos_name_trgm_idx') ORDER BY 1");
    expect(rows.map((r) => r.indexname)).toEqual(['objects_repo_path_idx', 'repos_name_trgm_idx']);
    const again = await cli(db, 'migrate', []);
    expect(again.stdout.trim()).toBe('Already at latest version: 5');
  });

  it('--steps applies at most N', async () => {
    const db = await database('steps');
    const result = await cli(db, 'migrate', ['--steps', '2']);
    expect(result.stdout).toContain('Migrated from version none to 2 (2 migrations');
    expect(await version(db)).toEqual([{ version: '2', dirty: false }]);
    expect((await cli(db, 'migrate', ['--steps', '0'])).code).toBe(2);
    expect((await cli(db, 'migrate', ['--steps', 'many'])).stderr).toMatch(/^INVALID_ARGUMENT/);
  });

  it('--dry-run lists the plan and changes nothing at all, not even the version table', async () => {
    const db = await database('dry');
    const before = await catalogSnapshot(db);
    const result = await cli(db, 'migrate', ['--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Current version: none');
    expect(result.stdout).toContain('Target version: 5');
    expect(result.stdout).toContain('000003_repo_fuzzy_search.up.sql');
    expect(result.stdout).not.toContain('CREATE TABLE');
    expect(await catalogSnapshot(db)).toBe(before);
    const withSql = await cli(db, 'migrate', ['--dry-run', '--sql']);
    expect(withSql.stdout).toContain('CREATE EXTENSION IF NOT EXISTS pg_trgm;');
    expect(await catalogSnapshot(db)).toBe(before);
    const json = JSON.parse((await cli(db, 'migrate', ['--dry-run', '--json'])).stdout);
    expect(json).toMatchObject({ dryRun: true, fromVersion: null, toVersion: 5 });
    expect(json.steps).toHaveLength(5);
  });

  it('a failed transactional migration leaves version and schema unchanged, and says so', async () => {
    const db = await database('txfail');
    const { dir } = await migrationsDir({
      '1_ok.up.sql': 'CREATE TABLE ok (id int);',
      '2_bad.up.sql': 'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT * FROM\n  missing_table;\n',
    });
    const result = await cli(db, 'migrate', [], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('MIGRATION_UP_FAILED: migration failed');
    expect(result.stderr).toContain('operation: apply migration 2 (2_bad.up.sql)');
    expect(result.stderr).toMatch(/error: relation "missing_table" does not exist \(SQLSTATE 42P01, line 4\)/);
    expect(result.stderr).toContain('still at version 1, not dirty');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await version(db)).toEqual([{ version: '1', dirty: false }]);
    expect(await tables(db)).not.toContain('half');
  });

  it('names the line of a failing statement even when PostgreSQL gives no position', async () => {
    const db = await database('noposition');
    const { dir } = await migrationsDir({
      '1_ok.up.sql': 'CREATE TABLE ok (id int);',
      '2_dup.up.sql': 'CREATE TABLE x (id int);\nINSERT INTO x VALUES (1);\n\nCREATE TABLE ok (id int);\n',
    });
    const result = await cli(db, 'migrate', [], dir);
    expect(result.stderr).toContain('error: relation "ok" already exists (SQLSTATE 42P07, line 4)');
    expect(await tables(db)).toEqual(['ok', 'schema_migrations', 'schema_migrations_history']);
  });

  it('a failed no-transaction migration leaves it dirty; force recovers', async () => {
    const db = await database('notx');
    const { dir } = await migrationsDir({
      '1_t.up.sql': 'CREATE TABLE t (a int);',
      '2_idx.up.sql': '-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);\n',
      '3_more.up.sql': 'CREATE TABLE more (id int);',
    });
    const failed = await cli(db, 'migrate', [], dir);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('statement 2 of 2');
    expect(failed.stderr).toMatch(/column "b" does not exist \(SQLSTATE 42703, line 3\)/);
    expect(failed.stderr).toContain('dirty at version 2');
    expect(await version(db)).toEqual([{ version: '2', dirty: true }]);
    expect((await cli(db, 'migrate:version', [], dir)).stdout.trim()).toBe('2 (dirty)');
    const refused = await cli(db, 'migrate', [], dir);
    expect(refused.stderr).toMatch(/^MIGRATION_DIRTY: Dirty database version 2\. Fix and force version\./);
    const status = await cli(db, 'migrate:status', ['--exit-code'], dir);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('[dirty]');
    await db.query('DROP INDEX t_a');
    expect((await cli(db, 'migrate:force', ['1', '--yes'], dir)).stdout).toContain('Forced version 1 (was 2, dirty)');
    await writeFile(path.join(dir, '2_idx.up.sql'), '-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n');
    const done = await cli(db, 'migrate', ['--ignore-checksums'], dir);
    expect(done.code).toBe(0);
    expect(await version(db)).toEqual([{ version: '3', dirty: false }]);
    const { rows } = await db.query("SELECT direction, version::text FROM schema_migrations_history WHERE direction = 'force'");
    expect(rows).toEqual([{ direction: 'force', version: '1' }]);
  });

  it('a syntax error in a no-transaction file is caught before anything runs', async () => {
    const db = await database('notxsyntax');
    const { dir } = await migrationsDir({ '1_x.up.sql': '-- tidemark:no-transaction\nCREATE TABLE a (id int);\nCREAT TABLE b (id int);\n' });
    const result = await cli(db, 'migrate', [], dir);
    expect(result.stderr).toMatch(/syntax error at or near "CREAT" \(line 3\); nothing was run/);
    expect(result.stderr).toContain('not dirty');
    expect(await tables(db)).not.toContain('a');
  });

  it('runs a file with its own BEGIN/COMMIT unwrapped, and a lone CONCURRENTLY file as golang-migrate does', async () => {
    const db = await database('selftx');
    const { dir } = await migrationsDir({
      '1_t.up.sql': 'BEGIN;\nCREATE TABLE t (a int);\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\nCOMMIT;\n',
      '2_idx.up.sql': 'CREATE INDEX CONCURRENTLY t_a ON t (a);\n',
      '3_two.up.sql': 'CREATE TABLE u (b int);\nCREATE INDEX CONCURRENTLY u_b ON u (b);\n',
    });
    const result = await cli(db, 'migrate', [], dir);
    expect(result.stdout).toMatch(/applied 1 t .* unwrapped/);
    expect(result.stdout).toMatch(/applied 2 idx .* unwrapped/);
    expect(result.stderr).toContain('MIGRATION_UP_FAILED');
    expect(result.stderr).toContain('Put `-- tidemark:no-transaction` on the first line of 3_two.up.sql');
    expect(await version(db)).toEqual([{ version: '2', dirty: false }]);
    expect(await tables(db)).not.toContain('u');
    const status = await cli(db, 'migrate:status', [], dir);
    expect(status.stdout).toContain('Note: 1_t.up.sql runs as one unit, not wrapped in a transaction');
    // How it ran, from its history row: a lone CONCURRENTLY statement says nothing of it in the file.
    expect(status.stdout).toContain('Note: 2_idx.up.sql runs as one unit, not wrapped in a transaction');
  });

  it('status of applied, unchanged files takes their modes from the history without loading the parser; a changed or pending file is read', async () => {
    const db = await database('statusmodes');
    const own = 'BEGIN;\nCREATE TABLE own (a int);\nCREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\nCOMMIT;\n';
    const { dir } = await migrationsDir({ '1_own.up.sql': own, '2_plain.up.sql': 'CREATE TABLE plain (a int);\n' });
    expect((await cli(db, 'migrate', [], dir)).code).toBe(0);
    // Records every module the command's importer is asked for (the launcher lends it through this symbol).
    const work = await mkdtemp(path.join(tmpdir(), 'tidemark-imports-'));
    const probe = path.join(work, 'probe.cjs');
    const out = path.join(work, 'imports.json');
    await writeFile(probe, `
const fs = require('node:fs');
const asked = [];
let importer;
Object.defineProperty(globalThis, Symbol.for('tidemark.import'), {
  configurable: true,
  get: () => importer && ((specifier) => { asked.push(specifier); return importer(specifier); }),
  set: (fn) => { importer = fn; },
});
process.on('exit', () => fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify(asked)));
`);
    const status = async () => {
      const result = await cli(db, 'migrate:status', [], dir, { NODE_OPTIONS: `--require ${probe}` });
      return { result, imports: JSON.parse(await readFile(out, 'utf8')) as string[] };
    };
    const applied = await status();
    expect(applied.result.code, applied.result.stderr).toBe(0);
    expect(applied.result.stdout).toContain('Note: 1_own.up.sql runs as one unit, not wrapped in a transaction');
    expect(applied.imports).toEqual([]);
    // Edited after it was applied: read from the file, which takes the parser.
    await writeFile(path.join(dir, '1_own.up.sql'), `${own}-- edited\n`);
    const changed = await status();
    expect(changed.result.stdout).toContain('1_own.up.sql changed after it was applied');
    expect(changed.result.stdout).toContain('Note: 1_own.up.sql runs as one unit, not wrapped in a transaction');
    expect(changed.imports).toEqual(['libpg-query']);
    // Pending: read from the file too.
    await writeFile(path.join(dir, '1_own.up.sql'), own);
    await writeFile(path.join(dir, '3_own.up.sql'), own.replace('own', 'own3').replace('g()', 'g3()'));
    const pending = await status();
    expect(pending.result.stdout).toContain('Note: 3_own.up.sql runs as one unit, not wrapped in a transaction');
    expect(pending.imports).toEqual(['libpg-query']);
  });

  it('down then migrate round-trips the demo schema', async () => {
    const db = await database('roundtrip');
    await cli(db, 'migrate', []);
    const before = await catalogSnapshot(db);
    const names = async () => (await db.query("SELECT string_agg(relname, ',' ORDER BY relname) AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'schema_migrations%'")).rows[0].n;
    const full = await names();
    const down = await cli(db, 'migrate:down', ['--all', '--yes']);
    expect(down.stdout).toContain('Rolled back from version 5 to none (5 migrations');
    expect(await version(db)).toEqual([]);
    expect(await tables(db)).toEqual(['schema_migrations', 'schema_migrations_history']);
    await cli(db, 'migrate', []);
    expect(await names()).toBe(full);
    expect(before).not.toBe('');
  });

  it('down N, --to V, --dry-run and goto', async () => {
    const db = await database('down');
    await cli(db, 'migrate', []);
    expect((await cli(db, 'migrate:down', [])).stdout).toContain('Rolled back from version 5 to 4 (1 migration');
    const snapshot = await catalogSnapshot(db);
    const dry = await cli(db, 'migrate:down', ['2', '--dry-run']);
    expect(dry.stdout).toContain('Would roll back 2 migrations');
    expect(await catalogSnapshot(db)).toBe(snapshot);
    expect((await cli(db, 'migrate:down', ['2'])).stdout).toContain('Rolled back from version 4 to 2');
    expect((await cli(db, 'migrate:goto', ['4'])).stdout).toContain('Migrated from version 2 to 4');
    expect((await cli(db, 'migrate:down', ['--to', '1'])).stdout).toContain('Rolled back from version 4 to 1');
    expect((await cli(db, 'migrate:goto', ['0'])).stdout).toContain('to none');
    expect((await cli(db, 'migrate:goto', ['7'])).stderr).toMatch(/^INVALID_VERSION[^]*no migration with version 7/);
    expect((await cli(db, 'migrate:down', ['--to', '3'])).stderr).toMatch(/^INVALID_VERSION/);
    const all = await cli(db, 'migrate:down', ['--all']);
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(/^CONFIRMATION_REQUIRED/);
  });

  it('a missing down file stops the rollback before anything runs, naming the file', async () => {
    const db = await database('nodown');
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;', '2_b.up.sql': 'CREATE TABLE b (id int);' , '3_c.up.sql': 'CREATE TABLE c (id int);', '3_c.down.sql': 'DROP TABLE c;' });
    await cli(db, 'migrate', [], dir);
    const result = await cli(db, 'migrate:down', ['--all', '--yes'], dir);
    expect(result.stderr).toMatch(/^MIGRATION_DOWN_MISSING/);
    expect(result.stderr).toContain('2_b.down.sql does not exist; nothing was rolled back');
    expect(await version(db)).toEqual([{ version: '3', dirty: false }]);
    expect(await tables(db)).toContain('c');
  });

  it('status reports checksum changes, missing files and out-of-order files; --exit-code gates CI', async () => {
    const db = await database('status');
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '3_c.up.sql': 'CREATE TABLE c (id int);', '4_d.up.sql': 'CREATE TABLE d (id int);' });
    await cli(db, 'migrate', [], dir);
    const clean = await cli(db, 'migrate:status', ['--exit-code'], dir);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('Up to date.');
    await writeFile(path.join(dir, '1_a.up.sql'), 'CREATE TABLE a (id bigint);');
    await writeFile(path.join(dir, '2_b.up.sql'), 'CREATE TABLE b (id int);');
    await writeFile(path.join(dir, '5_e.up.sql'), 'CREATE TABLE e (id int);');
    await (await import('node:fs/promises')).rm(path.join(dir, '4_d.up.sql'));
    const status = await cli(db, 'migrate:status', ['--json', '--exit-code'], dir);
    expect(status.code).toBe(3);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ version: 4, dirty: false, counts: { pending: 2 } });
    expect(json.problems.map((p: any) => [p.kind, p.version])).toEqual([['checksum-mismatch', 1], ['missing-file', 4], ['out-of-order', 2]]);
    const refused = await cli(db, 'migrate', [], dir);
    expect(refused.stderr).toMatch(/^MIGRATION_CHECKSUM_MISMATCH[^]*1_a\.up\.sql changed after it was applied/);
    const late = await cli(db, 'migrate', ['--ignore-checksums'], dir);
    expect(late.stderr).toMatch(/MIGRATION_OUT_OF_ORDER[^]*2_b\.up\.sql/);
    const applied = await cli(db, 'migrate', ['--ignore-checksums', '--allow-out-of-order'], dir);
    expect(applied.stdout).toContain('applied 2 b');
    expect(applied.stdout).toContain('applied 5 e');
    expect(await version(db)).toEqual([{ version: '5', dirty: false }]);
  });

  it('status and migrate read a history row whose name holds control characters, and still see a changed file', async () => {
    const db = await database('oddname');
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '2_b.up.sql': 'CREATE TABLE b (id int);' });
    await cli(db, 'migrate', [], dir);
    // Status and migrate read the history as separated fields; a name holding a separator makes them read whole rows.
    await db.query("UPDATE schema_migrations_history SET name = 'a' || chr(30) || chr(31) || 'z' WHERE version = 1");
    const status = await cli(db, 'migrate:status', ['--json', '--exit-code'], dir);
    expect(status.code, status.stderr).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json.migrations.map((m: any) => [m.version, m.state, m.appliedBy])).toEqual([[1, 'applied', 'tidemark'], [2, 'applied', 'tidemark']]);
    expect((await cli(db, 'migrate', [], dir)).stdout).toBe('Already at latest version: 2\n');
    await writeFile(path.join(dir, '1_a.up.sql'), 'CREATE TABLE a (id bigint);');
    const changed = await cli(db, 'migrate:status', ['--json'], dir);
    expect(JSON.parse(changed.stdout).problems.map((p: any) => [p.kind, p.version])).toEqual([['checksum-mismatch', 1]]);
  });

  it('history shows every migration with (current), when, how long and by whom', async () => {
    const db = await database('history');
    await cli(db, 'migrate', ['--steps', '3']);
    const text = await cli(db, 'migrate:history', []);
    expect(text.stdout.split('\n')[0]).toBe('5 index_objects_concurrently');
    expect(text.stdout).toMatch(/3 repo_fuzzy_search \(current\)\n {4}applied \d{4}-\d\d-\d\dT[^,]+, in \d+ ms, by postgres@[^ ]+ \(tidemark\)/);
    const json = JSON.parse((await cli(db, 'migrate:history', ['--json'])).stdout);
    expect(json.migrations.map((m: any) => [m.version, m.state, m.current])).toEqual([[5, 'pending', false], [4, 'pending', false], [3, 'applied', true], [2, 'applied', false], [1, 'applied', false]]);
    expect(json.migrations[2]).toMatchObject({ user: 'postgres', application: 'tidemark', appliedBy: 'tidemark' });
    expect(json.events.map((e: any) => e.direction)).toEqual(['up', 'up', 'up']);
  });

  it('version prints none, N and N (dirty)', async () => {
    const db = await database('version');
    expect((await cli(db, 'migrate:version', [])).stdout).toBe('none\n');
    await cli(db, 'migrate', ['--steps', '1']);
    expect((await cli(db, 'migrate:version', [])).stdout).toBe('1\n');
    expect(JSON.parse((await cli(db, 'migrate:version', ['--json'])).stdout)).toEqual({ version: 1, dirty: false });
  });

  it('force validates its version and -1 empties the table', async () => {
    const db = await database('force');
    await cli(db, 'migrate', ['--steps', '2']);
    for (const bad of ['abc', '-2', '1.5', '9223372036854775808']) {
      const result = await cli(db, 'migrate:force', [bad]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr, bad).toMatch(/^INVALID_VERSION/);
    }
    // Without --yes and without a terminal to ask on, nothing changes.
    const unconfirmed = await cli(db, 'migrate:force', ['-1']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/^CONFIRMATION_REQUIRED: forcing the version needs confirmation/);
    expect(await version(db)).toEqual([{ version: '2', dirty: false }]);
    expect((await cli(db, 'migrate:force', ['-1', '--yes'])).stdout).toContain('Forced version none (was 2)');
    expect(await version(db)).toEqual([]);
    expect((await cli(db, 'migrate:force', ['9223372036854775807', '--yes'])).code).toBe(0);
    expect(await version(db)).toEqual([{ version: '9223372036854775807', dirty: false }]);
  });

  it('bootstrap marks migrations applied without running them', async () => {
    const db = await database('bootstrap');
    await db.query('CREATE TABLE users (id int)');
    const result = await cli(db, 'migrate:bootstrap', ['--to', '3']);
    expect(result.stdout).toContain('Bootstrapped at version 3: 3 migrations marked as applied, none run.');
    expect(await version(db)).toEqual([{ version: '3', dirty: false }]);
    expect(await tables(db)).not.toContain('repos');
    const refused = await cli(db, 'migrate:bootstrap', []);
    expect(refused.stderr).toMatch(/^MIGRATION_BOOTSTRAP_REFUSED/);
    expect((await cli(db, 'migrate:bootstrap', ['--force'])).stdout).toContain('Bootstrapped at version 5');
    const status = JSON.parse((await cli(db, 'migrate:status', ['--json'])).stdout);
    expect(status.migrations.every((m: any) => m.appliedBy === 'bootstrap')).toBe(true);
    expect(status.problems).toEqual([]);
  });
});

describe('migrate:create', () => {
  it('creates the next sequential pair, never overwriting, and prints both paths', async () => {
    const { project, dir } = await migrationsDir({ '000007_existing.up.sql': '' });
    const result = await runCli('migrate:create', ['Add Users'], { cwd: project });
    expect(result.stdout).toBe('migrations/000008_add_users.up.sql\nmigrations/000008_add_users.down.sql\n');
    expect((await readdir(dir)).sort()).toEqual(['000007_existing.up.sql', '000008_add_users.down.sql', '000008_add_users.up.sql']);
    const ts = await runCli('migrate:create', ['--timestamp', 'x'], { cwd: project });
    expect(ts.stdout).toMatch(/^migrations\/\d{14}_x\.up\.sql\n/);
  });
  it('refuses unusable names', async () => {
    const { project, dir } = await migrationsDir({});
    for (const name of ['', '../evil', "it's", '"q"', '___']) {
      const result = await runCli('migrate:create', [name], { cwd: project });
      expect(result.code, name).toBe(2);
      expect(result.stderr, name).toMatch(/^MIGRATION_NAME_INVALID/);
    }
    expect(await readdir(dir)).toEqual([]);
  });
  it('never overwrites an existing file', async () => {
    const { project, dir } = await migrationsDir({});
    const { createMigration } = await import('../src/migrate/commands/create.js');
    const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    await writeFile(path.join(dir, '20260102030405_x.down.sql'), 'keep me');
    await expect(createMigration('x', { dir, timestamp: true, now })).rejects.toMatchObject({ code: 'MIGRATION_CREATE_FAILED' });
    expect(await readFile(path.join(dir, '20260102030405_x.down.sql'), 'utf8')).toBe('keep me');
    expect(await readdir(dir)).toEqual(['20260102030405_x.down.sql']);
    await writeFile(path.join(dir, '20260102030406_other.up.sql'), '');
    await expect(createMigration('y', { dir, timestamp: true, now: new Date(now.getTime() + 1000) })).rejects.toMatchObject({ code: 'MIGRATION_CREATE_FAILED', reason: expect.stringContaining('taken by 20260102030406_other.up.sql') });
    expect(project).toBeTruthy();
  });
});
