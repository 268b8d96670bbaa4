import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.js';
import { DEMO_DIR, migrationsDir } from './helpers/migrations.js';
import { findFreePort } from '../src/devdb/cluster.js';

let db: TestDatabase;
let password: string;
beforeAll(async () => {
  db = await createTestDatabase('errors');
  password = decodeURIComponent(new URL(db.url).password);
});
afterAll(() => db.close());

const NO_STACK = /\n\s+at .+:\d+:\d+/;

function expectCoded(result: CliResult, code: string, exit: number) {
  expect(result.code, result.stderr).toBe(exit);
  expect(result.stderr).toMatch(new RegExp(`^${code}: .+\\n  operation: .+\\n  error: .+`));
  expect(result.stderr).not.toMatch(NO_STACK);
}

describe('bad input gets a coded error', () => {
  it('missing DATABASE_URL is CONFIG_INVALID (exit 2) with a hint', async () => {
    const { project } = await migrationsDir({});
    const result = await runCli('migrate', [], { cwd: project });
    expectCoded(result, 'CONFIG_INVALID', 2);
    expect(result.stderr).toContain('tidemark db:start');
  });

  it.each([
    ['not-a-url', 'not a URL'],
    ['mysql://u:hunter2@localhost/db', 'unsupported scheme'],
    ['postgres://u:hunter2@localhost', 'no database name'],
  ])('malformed DATABASE_URL %s is CONFIG_INVALID', async (url, cause) => {
    const result = await runCli('migrate:status', ['--dir', DEMO_DIR], { env: { DATABASE_URL: url } });
    expectCoded(result, 'CONFIG_INVALID', 2);
    expect(result.stderr).toContain(cause);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });

  it('a wrong password is DB_CONNECT_FAILED, in plain words, without the password', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-password-xyz';
    const result = await runCli('migrate', ['--dir', DEMO_DIR], { env: { DATABASE_URL: url.toString() } });
    expectCoded(result, 'DB_CONNECT_FAILED', 1);
    expect(result.stderr).toContain('password authentication failed for user "postgres"');
    expect(result.stderr).not.toContain('not-the-password-xyz');
    expect(result.stderr).toContain(':****@');
  });

  it.each([
    ['migrate', ['--dir', DEMO_DIR]],
    ['migrate:status', ['--dir', DEMO_DIR]],
    ['db:query', ['SELECT 1']],
    ['db:stats', []],
    ['backfill:list', []],
    ['backfill', ['objects_sha256_lowercase']],
    ['backup:create', []],
  ])('an unreachable server is DB_CONNECT_FAILED: %s', async (target, args) => {
    const port = await findFreePort();
    const backups = await mkdtemp(path.join(tmpdir(), 'tidemark-unreachable-'));
    const result = await runCli(target, args, { env: { DATABASE_URL: `postgres://u:secretpw@127.0.0.1:${port}/x`, BACKUP_DIR: backups } });
    expectCoded(result, 'DB_CONNECT_FAILED', 1);
    expect(result.stderr).not.toContain('secretpw');
    expect(result.stderr).toContain(`connection refused (is PostgreSQL running and listening there?) at 127.0.0.1:${port}`);
  });

  it('a missing migrations directory, duplicate versions and unmatched files', async () => {
    const missing = await runCli('migrate', ['--dir', '/nonexistent/dir'], { env: { DATABASE_URL: db.url } });
    expectCoded(missing, 'MIGRATION_SOURCE_FAILED', 1);
    const { dir } = await migrationsDir({ '1_a.up.sql': 'SELECT 1', '01_b.up.sql': 'SELECT 1' });
    const dup = await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    expectCoded(dup, 'MIGRATION_SOURCE_FAILED', 1);
    expect(dup.stderr).toMatch(/01_b\.up\.sql and 1_a\.up\.sql|1_a\.up\.sql and 01_b\.up\.sql/);
    const { dir: stray } = await migrationsDir({ '1_a.up.sql': 'SELECT 1', '2_b.sql': 'SELECT 1', 'README.md': '' });
    const warned = await runCli('migrate', ['--dir', stray, '--dry-run'], { env: { DATABASE_URL: db.url } });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('warning: ignored 2 file(s)');
    expect(warned.stderr).toContain('2_b.sql, README.md');
  });

  it.each(['migrate', 'migrate:status'])('%s: a migration file that cannot be read is MIGRATION_SOURCE_FAILED, naming the file', async (target) => {
    const { dir } = await migrationsDir({ '1_a.up.sql': 'SELECT 1' });
    // A dangling link: listed like a file, unreadable when opened.
    await symlink(path.join(dir, 'nowhere.sql'), path.join(dir, '2_b.up.sql'));
    const table = `unreadable_${target.replace(':', '_')}`;
    const result = await runCli(target, ['--dir', dir, '--table', table], { env: { DATABASE_URL: db.url } });
    expectCoded(result, 'MIGRATION_SOURCE_FAILED', 1);
    expect(result.stderr).toContain(`operation: read ${path.join(dir, '2_b.up.sql')}`);
    expect(result.stderr).toContain('ENOENT');
    // Every pending file is read before the first one runs: nothing was applied.
    const { rows } = await db.query('SELECT to_regclass($1) IS NOT NULL AS created', [table]);
    if (rows[0].created) expect((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);
  });

  it.each([
    ['migrate:goto', ['abc']], ['migrate:goto', ['-3']], ['migrate:goto', ['99999999999999999999']],
    ['migrate:down', ['--to', 'x']], ['migrate:bootstrap', ['--to', '1e3']], ['migrate:force', ['']],
  ])('%s %j is INVALID_VERSION', async (target, args) => {
    const result = await runCli(target, ['--dir', DEMO_DIR, ...args], { env: { DATABASE_URL: db.url } });
    expectCoded(result, 'INVALID_VERSION', 2);
  });

  it('unknown flags and bad durations are usage errors', async () => {
    expectCoded(await runCli('migrate', ['--frobnicate'], { env: { DATABASE_URL: db.url } }), 'INVALID_ARGUMENT', 2);
    expectCoded(await runCli('migrate', ['--lock-timeout', 'soon'], { env: { DATABASE_URL: db.url } }), 'CONFIG_INVALID', 2);
    expectCoded(await runCli('migrate:down', ['0'], { env: { DATABASE_URL: db.url } }), 'INVALID_ARGUMENT', 2);
  });

  it('--json gives the same error as one JSON object', async () => {
    const result = await runCli('migrate:goto', ['--json', 'abc'], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'INVALID_VERSION', message: 'invalid version', operation: 'read the version', error: '"abc" is not a whole number from 0 to 9223372036854775807' } });
  });
});

describe('secrets', () => {
  it('no command prints the password, whatever it does', async () => {
    const { project, dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;', '2_bad.up.sql': 'SELECT nope;' });
    await writeFile(path.join(project, '.env'), `DATABASE_URL=${db.url}\n`);
    const runs = [
      ['migrate', []], ['migrate', ['--json']], ['migrate:status', []], ['migrate:status', ['--json']], ['migrate:history', ['--json']],
      ['migrate:version', []], ['migrate:down', ['--dry-run', '--sql']], ['migrate:force', ['1', '--yes']], ['migrate:goto', ['1']], ['migrate:bootstrap', []],
    ] as const;
    for (const [target, args] of runs) {
      const result = await runCli(target, ['--dir', dir, ...args], { cwd: project });
      expect(result.stdout + result.stderr, `${target} ${args.join(' ')}`).not.toContain(password);
    }
  });
});

describe('every migration failure has its code', () => {
  const run = (target: string, args: string[], dir: string, url = db.url) => runCli(target, ['--dir', dir, ...args], { env: { DATABASE_URL: url } });

  it('MIGRATION_DOWN_FAILED: a failing down file rolls back and leaves the version', async () => {
    const scratch = await createTestDatabase('downfail');
    try {
      const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;\nDROP TABLE not_there;' });
      await run('migrate', [], dir, scratch.url);
      const result = await run('migrate:down', [], dir, scratch.url);
      expectCoded(result, 'MIGRATION_DOWN_FAILED', 1);
      expect(result.stderr).toContain('operation: roll back migration 1 (1_a.down.sql)');
      expect(result.stderr).toMatch(/table "not_there" does not exist \(SQLSTATE 42P01, line 2\)/);
      expect((await scratch.query('SELECT version::int FROM schema_migrations')).rows).toEqual([{ version: 1 }]);
      expect((await scratch.query("SELECT to_regclass('a') IS NOT NULL AS t")).rows[0].t).toBe(true);
    } finally {
      await scratch.close();
    }
  });

  it('MIGRATION_FILE_MISSING: rolling back a version whose file is gone', async () => {
    const scratch = await createTestDatabase('filemissing');
    try {
      const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;' });
      await run('migrate', [], dir, scratch.url);
      await scratch.query('BEGIN; DELETE FROM schema_migrations; INSERT INTO schema_migrations VALUES (9, false); COMMIT;');
      const result = await run('migrate:down', [], dir, scratch.url);
      expectCoded(result, 'MIGRATION_FILE_MISSING', 1);
      expect(result.stderr).toContain('version 9 is applied, but there is no file for it');
    } finally {
      await scratch.close();
    }
  });

  it('MIGRATION_VERSION_FAILED: a table of that name with another shape', async () => {
    const scratch = await createTestDatabase('wrongshape');
    try {
      await scratch.query('CREATE TABLE schema_migrations (name text)');
      for (const target of ['migrate:status', 'migrate:version', 'migrate']) {
        const result = await run(target, [], DEMO_DIR, scratch.url);
        expectCoded(result, 'MIGRATION_VERSION_FAILED', 1);
        expect(result.stderr).toContain('column "version" does not exist');
      }
      const other = await run('migrate', ['--table', 'app_versions', '--steps', '1'], DEMO_DIR, scratch.url);
      expect(other.code, other.stderr).toBe(0);
      expect((await scratch.query('SELECT version::int FROM app_versions')).rows).toEqual([{ version: 1 }]);
    } finally {
      await scratch.close();
    }
  });

  it('MIGRATION_FORCE_FAILED and MIGRATION_INIT_FAILED (migrate, bootstrap) on a read-only session', async () => {
    const scratch = await createTestDatabase('readonly');
    try {
      const readOnly = `${scratch.url}?options=${encodeURIComponent('-c default_transaction_read_only=on')}`;
      const force = await run('migrate:force', ['3', '--yes'], DEMO_DIR, readOnly);
      expectCoded(force, 'MIGRATION_FORCE_FAILED', 1);
      expect(force.stderr).toContain('read-only transaction');
      const up = await run('migrate', [], DEMO_DIR, readOnly);
      expectCoded(up, 'MIGRATION_INIT_FAILED', 1);
      expect(up.stderr).toContain('cannot create the migration tables');
      const bootstrap = await run('migrate:bootstrap', [], DEMO_DIR, readOnly);
      expectCoded(bootstrap, 'MIGRATION_INIT_FAILED', 1);
      expect(bootstrap.stderr).toContain('cannot record the migrations as applied');
      expect(bootstrap.stderr).toContain('read-only transaction');
    } finally {
      await scratch.close();
    }
  });

  it('bootstrap --dry-run lists and changes nothing', async () => {
    const scratch = await createTestDatabase('bootdry');
    try {
      const result = await run('migrate:bootstrap', ['--dry-run'], DEMO_DIR, scratch.url);
      expect(result.stdout).toContain('would mark 5 index_objects_concurrently');
      expect(result.stdout).toContain('Dry run: would set version 5 (5 migrations); nothing was changed.');
      expect((await scratch.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t).toBeNull();
    } finally {
      await scratch.close();
    }
  });

  it('DEVDB_FAILED when the embedded database cannot be created', async () => {
    const { project } = await migrationsDir({});
    await writeFile(path.join(project, '.tidemark'), 'a file where the directory should be');
    const result = await runCli('db:start', [], { cwd: project });
    expectCoded(result, 'DEVDB_FAILED', 1);
  });

  it('a reader that goes away (`| head`) ends the output, not the command: no EPIPE crash, the exit code stays', async () => {
    const env = { DATABASE_URL: db.url };
    for (const [args, exit] of [[['--json'], 0], [['--json', '--exit-code'], 3]] as const) {
      const child = spawnCli('migrate:status', ['--dir', DEMO_DIR, ...args], { env });
      child.stdout!.destroy();
      const result = await collect(child);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(exit);
    }
  });
});
