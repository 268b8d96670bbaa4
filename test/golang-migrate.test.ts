import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { DEMO_DIR, migrationsDir } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';
import { advisoryLockKey } from '../src/migrate/state/lock-key.js';

const open: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

async function database(label: string) {
  const db = await createTestDatabase(label);
  open.push(db);
  return db;
}

/** What golang-migrate's postgres driver leaves behind after applying the first `upTo` demo migrations. */
async function golangMigrateState(db: TestDatabase, upTo: number, dirty: boolean) {
  await db.query('CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)');
  for (const file of ['000001_create_users.up.sql', '000002_create_repos.up.sql', '000003_repo_fuzzy_search.up.sql'].slice(0, upTo)) {
    await db.query(await readFile(path.join(DEMO_DIR, file), 'utf8'));
  }
  await db.query('BEGIN; TRUNCATE "public"."schema_migrations"; COMMIT;');
  await db.query('INSERT INTO "public"."schema_migrations" (version, dirty) VALUES ($1, $2)', [upTo, dirty]);
}

const cli = (db: TestDatabase, target: string, args: string[] = [], dir = DEMO_DIR) => runCli(target, ['--dir', dir, ...args], { env: { DATABASE_URL: db.url } });

describe('taking over from golang-migrate', () => {
  it('reads its state, applies the rest, and shows earlier versions as applied outside tidemark', async () => {
    const db = await database('gm_takeover');
    await golangMigrateState(db, 3, false);
    expect((await cli(db, 'migrate:version')).stdout).toBe('3\n');
    const before = JSON.parse((await cli(db, 'migrate:status', ['--json'])).stdout);
    expect(before.problems).toEqual([]);
    expect(before.migrations.slice(0, 3).map((m: any) => m.appliedBy)).toEqual(['outside', 'outside', 'outside']);
    const result = await cli(db, 'migrate');
    expect(result.stdout).toContain('Migrated from version 3 to 5 (2 migrations');
    const history = await cli(db, 'migrate:history');
    expect(history.stdout).toMatch(/1 create_users\n {4}applied outside tidemark \(no history\)/);
    const { rows } = await db.query('SELECT direction, from_version, to_version FROM schema_migrations_history ORDER BY id');
    expect(rows).toEqual([
      { direction: 'adopt', from_version: null, to_version: '3' },
      { direction: 'up', from_version: '3', to_version: '4' },
      { direction: 'up', from_version: '4', to_version: '5' },
    ]);
  });

  it('refuses a database golang-migrate left dirty until it is forced', async () => {
    const db = await database('gm_dirty');
    await golangMigrateState(db, 2, true);
    expect((await cli(db, 'migrate:version')).stdout).toBe('2 (dirty)\n');
    expect((await cli(db, 'migrate')).stderr).toMatch(/^MIGRATION_DIRTY: Dirty database version 2/);
    await cli(db, 'migrate:force', ['2', '--yes']);
    expect((await cli(db, 'migrate')).code).toBe(0);
  });

  it('leaves the table exactly as golang-migrate reads and writes it', async () => {
    const db = await database('gm_handback');
    await cli(db, 'migrate', ['--steps', '4']);
    const { rows: columns } = await db.query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'schema_migrations' ORDER BY ordinal_position`);
    expect(columns).toEqual([
      { column_name: 'version', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'dirty', data_type: 'boolean', is_nullable: 'NO' },
    ]);
    const { rows: pk } = await db.query(`SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'schema_migrations'::regclass AND i.indisprimary`);
    expect(pk).toEqual([{ attname: 'version' }]);
    // golang-migrate's own read and its next write (truncate + insert) work on what tidemark left.
    expect((await db.query('SELECT version, dirty FROM "public"."schema_migrations" LIMIT 1')).rows).toEqual([{ version: '4', dirty: false }]);
    await db.query('BEGIN; TRUNCATE "public"."schema_migrations"; INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (5, true); COMMIT;');
    await db.query(await readFile(path.join(DEMO_DIR, '000005_index_objects_concurrently.up.sql'), 'utf8').then((s) => s.replace(/CONCURRENTLY /g, '')));
    await db.query('BEGIN; TRUNCATE "public"."schema_migrations"; INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (5, false); COMMIT;');
    // ...and tidemark carries on again, recording that version 5 came from outside.
    const status = JSON.parse((await cli(db, 'migrate:status', ['--json'])).stdout);
    expect(status).toMatchObject({ version: 5, dirty: false, problems: [] });
    expect(status.migrations.at(-1).appliedBy).toBe('outside');
  });

  it('honours x-migrations-table from a golang-migrate URL', async () => {
    const db = await database('gm_table');
    const url = `${db.url}?x-migrations-table=app_versions`;
    const result = await runCli('migrate', ['--dir', DEMO_DIR, '--steps', '1'], { env: { DATABASE_URL: url } });
    expect(result.code).toBe(0);
    expect((await db.query('SELECT version FROM app_versions')).rows).toEqual([{ version: '1' }]);
  });

  it("holds golang-migrate's lock keys while migrating, visible in pg_locks", async () => {
    const db = await database('gm_lock');
    const { dir } = await migrationsDir({ '1_gate.up.sql': 'CREATE TABLE gate (id int);', '2_wait.up.sql': 'SELECT count(*) FROM gate;' });
    await cli(db, 'migrate', ['--steps', '1'], dir);
    const blocker = new pg.Client({ connectionString: db.url });
    blocker.on('error', () => undefined);
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    const done = collect(child);
    const expected = [advisoryLockKey(`/${db.name}`, 'public', 'schema_migrations'), advisoryLockKey(db.name, 'public', 'schema_migrations')].map(String).sort();
    const held = await waitFor(async () => {
      const { rows } = await db.query(`SELECT ((classid::bigint << 32) | objid::bigint)::text AS key FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`);
      return rows.length === 2 && rows.map((r) => r.key);
    }, 'the advisory locks');
    expect(held).toEqual(expected);
    // A second run waits, then gives up with a code naming the holder.
    const second = await runCli('migrate', ['--dir', dir, '--lock-timeout', '1s'], { env: { DATABASE_URL: db.url } });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/waiting for the migration lock[^]*\nMIGRATION_LOCK_TIMEOUT[^]*held by pid \d+ \("tidemark", user postgres/);
    await blocker.query('COMMIT');
    await blocker.end();
    const result = await done;
    expect(result.code).toBe(0);
    // pg_locks covers the whole server: other test files' databases hold advisory locks of their own.
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows[0].n).toBe(0);
  });
});
