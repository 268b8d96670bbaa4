import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { databasesClosedAfterEach, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { backupCli, tempDir } from './helpers/backup.js';
import { waitFor } from './helpers/wait.js';
import { spawnSync } from 'node:child_process';
import { isAbandoned, scratchName } from '../src/db/scratch.js';

const database = databasesClosedAfterEach();

const verify = (db: TestDatabase, dir: string, args: string[] = ['--all'], env: Record<string, string> = {}) =>
  runCli('migrate:verify', ['--dir', dir, ...args], { env: { DATABASE_URL: db.url, ...env } });

const pad = (i: number) => String(i).padStart(6, '0');

/** Migration files from [name, up, down?] triples, numbered from 1. */
function files(...migrations: Array<[string, string, string?]>): Record<string, string> {
  const out: Record<string, string> = {};
  migrations.forEach(([name, up, down], i) => {
    out[`${pad(i + 1)}_${name}.up.sql`] = up;
    if (down !== undefined) out[`${pad(i + 1)}_${name}.down.sql`] = down;
  });
  return out;
}

const OBJECTS: [string, string, string] = ['objects', "CREATE TYPE object_type AS ENUM ('a', 'b');\nCREATE TABLE objects (id int PRIMARY KEY, repo text, kind object_type);\n", 'DROP TABLE objects;\nDROP TYPE object_type;\n'];

/** Scratch databases of one run of the command (its pid is in the name). */
async function scratchOf(db: TestDatabase, pid: number): Promise<string[]> {
  const { rows } = await db.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`tidemark\\_scratch\\_${pid}\\_%`]);
  return rows.map((r) => r.datname);
}

const scratchAppears = (db: TestDatabase, pid: number) =>
  waitFor(async () => {
    const names = await scratchOf(db, pid);
    return names.length ? names : undefined;
  }, 'the scratch database to appear in pg_database');

describe('migrate:verify finds the downs that do not undo their ups', () => {
  it('a down that forgets DROP INDEX fails and names the index; the migration before it passes', async () => {
    const db = await database('verify_index');
    const { dir } = await migrationsDir(files(OBJECTS, ['add_idx', 'CREATE INDEX objects_repo_idx ON objects (repo);\n', 'SELECT 1;\n']));
    const result = await verify(db, dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('VERIFY_NOT_REVERSIBLE: 000002_add_idx.down.sql does not undo 000002_add_idx.up.sql');
    expect(result.stdout).toContain('index objects_repo_idx exists after down, not before (created by 000002_add_idx.up.sql, not dropped by its down)');
    expect(result.stdout).toMatch(/^ {2}ok +1 objects$/m);
    expect(result.stdout).toContain('1 of 2 migrations reversed exactly');
    const json = await verify(db, dir, ['--all', '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(false);
    expect(report.passed).toEqual([1]);
    expect(report.findings.map((f: { code: string }) => f.code)).toContain('VERIFY_NOT_REVERSIBLE');
    expect(report.checks[1]).toMatchObject({ version: 2, status: 'up-failed' });
  });

  it.each([
    ['an enum label', "ALTER TYPE object_type ADD VALUE 'c';\n", 'enum object_type has labels [a, b, c] after down, [a, b] before'],
    ['a column default', "ALTER TABLE objects ALTER COLUMN repo SET DEFAULT 'x';\n", "column objects.repo default changed: 'x'::text after down, none before"],
    ['a function', 'CREATE FUNCTION repo_count() RETURNS bigint LANGUAGE sql AS $$SELECT count(*) FROM objects$$;\n', 'function repo_count() exists after down, not before (created by 000002_change.up.sql, not dropped by its down)'],
    ['an extension', 'CREATE EXTENSION pgcrypto;\n', 'extension pgcrypto exists after down, not before (created by 000002_change.up.sql, not dropped by its down)'],
  ])('a down that leaves %s fails and names it', async (_what, up, sentence) => {
    const db = await database('verify_leaves');
    const { dir } = await migrationsDir(files(OBJECTS, ['change', up, 'SELECT 1;\n']));
    const result = await verify(db, dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain(sentence);
  });

  it('a missing down file is its own finding, and the migrations after it are still checked', async () => {
    const db = await database('verify_missing');
    const { dir } = await migrationsDir(files(OBJECTS, ['no_down', 'CREATE TABLE t2 (id int);\n'], ['t3', 'CREATE TABLE t3 (id int);\n', 'DROP TABLE t3;\n']));
    const result = await verify(db, dir, ['--all', '--json']);
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'VERIFY_DOWN_MISSING', version: 2, message: expect.stringContaining('000002_no_down.down.sql') })]);
    expect(report.passed).toEqual([1, 3]);
  });

  it('a failing down is reported with file, line and SQLSTATE; the rest is checked in a new scratch database', async () => {
    const db = await database('verify_fails');
    const { dir } = await migrationsDir(files(OBJECTS,
      ['bad_down', 'CREATE TABLE t2 (id int);\n', 'DROP TABLE t2;\nDROP TABLE no_such_table;\n'],
      ['t3', 'CREATE TABLE t3 (id int REFERENCES objects);\n', 'DROP TABLE t3;\n'],
      ['t4_on_t2', 'ALTER TABLE t2 ADD COLUMN note text;\n', 'ALTER TABLE t2 DROP COLUMN note;\n']));
    const result = await verify(db, dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('VERIFY_DOWN_FAILED: 000002_bad_down.down.sql fails');
    expect(result.stdout).toContain('table "no_such_table" does not exist (SQLSTATE 42P01, line 2)');
    expect(result.stdout).toContain('3 of 4 migrations reversed exactly');
    const json = JSON.parse((await verify(db, dir, ['--all', '--json'])).stdout);
    expect(json.passed).toEqual([1, 3, 4]);
    expect(json.scratchDatabases).toHaveLength(2);
    expect(json.notChecked).toEqual([]);
  });

  it('an up that fails ends the run: the migrations after it are not checked', async () => {
    const db = await database('verify_up_fails');
    const { dir } = await migrationsDir(files(OBJECTS, ['bad_up', 'CREATE TABLE t2 (id int REFERENCES nowhere);\n', 'DROP TABLE t2;\n'], ['t3', 'CREATE TABLE t3 (id int);\n', 'DROP TABLE t3;\n']));
    const result = await verify(db, dir, ['--all', '--json']);
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'MIGRATION_UP_FAILED', version: 2, file: '000002_bad_up.up.sql' })]);
    expect(report.findings[0].error.error).toContain('relation "nowhere" does not exist (SQLSTATE 42P01, line 1)');
    expect(report.notChecked).toEqual([3]);
  });

  it('50 correct pairs of many kinds pass, transactional and no-transaction files alike', async () => {
    const db = await database('verify_fifty');
    const { dir } = await migrationsDir(files(...fiftyPairs()));
    const result = await verify(db, dir, ['--all', '--json']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.passed).toHaveLength(50);
    expect(report.findings).toEqual([]);
    // Read step by step from the DDL record, which missed nothing a whole reading sees.
    expect(report).toMatchObject({ schemaReads: 'changes', missedChanges: [] });
  });

  it('by default checks the migrations pending in the configured database, after building the ones applied there', async () => {
    const db = await database('verify_pending');
    const { dir } = await migrationsDir(files(OBJECTS, ['t2', 'CREATE TABLE t2 (id int REFERENCES objects);\n', 'DROP TABLE t2;\n'], ['idx', 'CREATE INDEX t2_id ON t2 (id);\n', 'DROP INDEX t2_id;\n']));
    expect((await runCli('migrate', ['--dir', dir, '--steps', '2'], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const result = await verify(db, dir, ['--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).checks.map((c: { version: number }) => c.version)).toEqual([3]);
    expect((await db.query("SELECT to_regclass('t2_id') AS i")).rows[0].i).toBeNull();
  });

  it('usage errors exit 2', async () => {
    const db = await database('verify_usage');
    const { dir } = await migrationsDir(files(OBJECTS));
    const result = await verify(db, dir, ['--all', '--from', '1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('INVALID_ARGUMENT');
  });
});

describe('migrate:verify scratch databases', () => {
  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s cancels the running migration and drops the scratch database before exiting %i', async (signal, status) => {
    const db = await database('verify_signal');
    const { dir } = await migrationsDir(files(OBJECTS, ['slow', 'SELECT pg_sleep(60);\n', 'SELECT 1;\n']));
    const child = spawnCli('migrate:verify', ['--dir', dir, '--all'], { env: { DATABASE_URL: db.url } });
    const done = collect(child);
    const [scratch] = await scratchAppears(db, child.pid!);
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(60)%'", [scratch])).rowCount, 'the slow migration');
    child.kill(signal);
    const result = await done;
    expect(result.code).toBe(status);
    expect(result.stderr).toContain('INTERRUPTED');
    expect(result.stderr).toContain(`the scratch database ${scratch} was dropped`);
    expect(await scratchOf(db, child.pid!)).toEqual([]);
  });

  it('a scratch database left by a SIGKILLed run is dropped by the next run', async () => {
    const db = await database('verify_sigkill');
    const many = Array.from({ length: 30 }, (_, i): [string, string, string] => [`t${i}`, `CREATE TABLE t${i} (id int);\n`, `DROP TABLE t${i};\n`]);
    const { dir } = await migrationsDir(files(...many));
    const child = spawnCli('migrate:verify', ['--dir', dir, '--all'], { env: { DATABASE_URL: db.url } });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    const done = collect(child);
    const [scratch] = await scratchAppears(db, child.pid!);
    // A random moment of the run: after 0 to 5 migrations were checked.
    const checked = Math.floor(Math.random() * 6);
    await waitFor(async () => (stdout.match(/^ {2}ok /gm) ?? []).length >= checked, `${checked} checked migrations`);
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    expect(await scratchOf(db, child.pid!)).toEqual([scratch]);
    const { dir: small } = await migrationsDir(files(OBJECTS));
    const rerun = await verify(db, small);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain(`dropped ${scratch}, a scratch database left by a run that is gone`);
    expect(await scratchOf(db, child.pid!)).toEqual([]);
  });
});

describe('scratch database names', () => {
  it('a leftover is a database of a dead run on this host, or one created more than a day ago anywhere', () => {
    const dead = spawnSync('true').pid!;
    const now = Date.parse('2026-06-02T12:00:00Z');
    const comment = (created: string) => JSON.stringify({ tidemark: 'scratch', purpose: 'migrate:verify', created });
    expect(scratchName(dead)).toMatch(new RegExp(`^tidemark_scratch_${dead}_[0-9a-f]{6}_[0-9a-f]{8}$`));
    expect(isAbandoned({ name: scratchName(dead), comment: null }, now)).toBe(true);
    expect(isAbandoned({ name: scratchName(process.pid), comment: comment('2026-06-01T00:00:00Z') }, now)).toBe(true);
    expect(isAbandoned({ name: scratchName(process.ppid), comment: comment('2026-06-02T11:00:00Z') }, now)).toBe(false);
    const elsewhere = `tidemark_scratch_${dead}_abcdef_00000000`;
    expect(isAbandoned({ name: elsewhere, comment: comment('2026-06-02T11:00:00Z') }, now)).toBe(scratchName(dead).includes('_abcdef_'));
    expect(isAbandoned({ name: elsewhere, comment: comment('2026-05-30T11:00:00Z') }, now)).toBe(true);
    expect(isAbandoned({ name: 'tidemark_verify_1_abcdef_00000000', comment: null }, now)).toBe(false);
  });
});

describe('migrate:verify --schema-from', () => {
  it('starts from the schema of a tidemark backup', async () => {
    const source = await database('verify_from_backup', inject('pgToolsUrl'));
    await source.query(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) g;
      CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
      INSERT INTO schema_migrations VALUES (1, false);`);
    const backups = await tempDir('verify-backup');
    const made = await backupCli('backup:create', [], source, backups);
    expect(made.code, made.stderr).toBe(0);
    const file = path.join(backups, (await readdir(backups)).find((f) => f.endsWith('.dump'))!);
    const good = await migrationsDir(files(['customers', 'SELECT 1;\n'], ['email', 'ALTER TABLE customers ADD COLUMN email text;\n', 'ALTER TABLE customers DROP COLUMN email;\n']));
    const env = { PG_BIN_DIR: inject('pgToolsBinDir') };
    const ok = await verify(source, good.dir, ['--from', '2', '--schema-from', file], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`1 of 1 migration reversed exactly (from the schema of ${file}`);
    const bad = await migrationsDir(files(['customers', 'SELECT 1;\n'], ['email', 'ALTER TABLE customers ADD COLUMN email text;\n', 'SELECT 1;\n']));
    const failed = await verify(source, bad.dir, ['--from', '2', '--schema-from', file], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('column customers.email exists after down, not before');
    expect((await source.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(100);
  });

  it('starts from the schema of a live database, read only, its password never printed', async () => {
    const source = await database('verify_from_db', inject('pgToolsUrl'));
    await source.query(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL); INSERT INTO customers VALUES (1, 'a');
      CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, false);`);
    const configured = await database('verify_from_db_conf', inject('pgToolsUrl'));
    const { dir } = await migrationsDir(files(['customers', 'SELECT 1;\n'], ['email', 'ALTER TABLE customers ADD COLUMN email text;\n', 'SELECT 1;\n']));
    const result = await verify(configured, dir, ['--from', '2', '--schema-from-database', source.url], { PG_BIN_DIR: inject('pgToolsBinDir') });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('column customers.email exists after down, not before (created by 000002_email.up.sql, not dropped by its down)');
    expect(result.stdout).toContain('from the schema of postgres://postgres:');
    const password = new URL(source.url).password;
    expect(result.stdout + result.stderr).not.toContain(password);
    const { rows } = await source.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' ORDER BY 1");
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'name']);
  });
});

/** Fifty up/down pairs over many kinds of objects, each down the exact inverse of its up. */
function fiftyPairs(): Array<[string, string, string]> {
  const kinds: Array<(i: number) => [string, string]> = [
    (i) => [`CREATE TABLE k${i} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL DEFAULT 'n', created timestamptz DEFAULT now());`, `DROP TABLE k${i};`],
    (i) => i % 20 === 1
      ? [`-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY k${i - 1}_name ON k${i - 1} (name) WHERE name <> '';`, `-- tidemark:no-transaction\nDROP INDEX CONCURRENTLY k${i - 1}_name;`]
      : [`CREATE INDEX k${i - 1}_name ON k${i - 1} (name) WHERE name <> '';`, `DROP INDEX k${i - 1}_name;`],
    (i) => [`CREATE TYPE e${i} AS ENUM ('x', 'y');\nALTER TABLE k${i - 2} ADD COLUMN e e${i};`, `ALTER TABLE k${i - 2} DROP COLUMN e;\nDROP TYPE e${i};`],
    (i) => [`CREATE FUNCTION f${i}(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$SELECT a + ${i}$$;\nCOMMENT ON FUNCTION f${i}(int) IS 'adds ${i}';`, `DROP FUNCTION f${i}(int);`],
    (i) => [`CREATE VIEW v${i} AS SELECT id, name FROM k${i - 4} WHERE id > ${i};`, `DROP VIEW v${i};`],
    (i) => [`ALTER TABLE k${i - 5} ADD CONSTRAINT k${i - 5}_name_len CHECK (length(name) < 100);\nCOMMENT ON TABLE k${i - 5} IS 'checked';`, `COMMENT ON TABLE k${i - 5} IS NULL;\nALTER TABLE k${i - 5} DROP CONSTRAINT k${i - 5}_name_len;`],
    (i) => [`CREATE SEQUENCE s${i} AS integer INCREMENT 3;\nCREATE DOMAIN d${i} AS text CHECK (VALUE <> '');`, `DROP DOMAIN d${i};\nDROP SEQUENCE s${i};`],
    (i) => [`CREATE FUNCTION trg${i}() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.name := lower(NEW.name); RETURN NEW; END$$;\nCREATE TRIGGER k${i - 7}_lower BEFORE INSERT ON k${i - 7} FOR EACH ROW EXECUTE FUNCTION trg${i}();`, `DROP TRIGGER k${i - 7}_lower ON k${i - 7};\nDROP FUNCTION trg${i}();`],
    (i) => [`ALTER TABLE k${i - 8} ALTER COLUMN name SET DEFAULT 'm';\nGRANT SELECT ON k${i - 8} TO PUBLIC;`, `REVOKE SELECT ON k${i - 8} FROM PUBLIC;\nALTER TABLE k${i - 8} ALTER COLUMN name SET DEFAULT 'n';`],
    (i) => [`CREATE TABLE p${i} (id int, at date) PARTITION BY RANGE (at);\nCREATE TABLE p${i}_2026 PARTITION OF p${i} FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');`, `DROP TABLE p${i};`],
  ];
  return Array.from({ length: 50 }, (_, i) => {
    const [up, down] = kinds[i % kinds.length](i);
    return [`m${i}`, `${up}\n`, `${down}\n`];
  });
}
