import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';
import { migrationsDir } from './helpers/migrations.js';
import { createTestDatabase } from './helpers/db.js';
import { escapeData, escapeProperty } from '../tasks/lib/format/lint.js';

/** A table the migrations create, then index again (no finding: it is new), and an index on a table they did not create. */
const BAD = {
  '1_orders.up.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY, status text);\nCREATE INDEX orders_status ON orders (status);\n',
  '2_index.up.sql': "SET lock_timeout = '5s';\n-- the open orders, by customer\nCREATE INDEX orders_id_status ON orders (id, status);\n",
  '3_accounts.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX accounts_email ON accounts (email);\n",
};

async function project(files: Record<string, string> = BAD) {
  return migrationsDir(files);
}

const lint = (cwd: string, args: string[] = [], env: Record<string, string> = {}) => runCli('migrate:lint', args, { cwd, env });

describe('migrate:lint (command line)', () => {
  it('prints each finding with its place, lock, claims and safe SQL, and exits 1 with MIGRATION_LINT_FAILED on an error', async () => {
    const { project: cwd } = await project({ ...BAD, '3_accounts.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX accounts_email ON public.accounts (email);\n" });
    const result = await lint(cwd, ['--pg-version', '15']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('migrations/3_accounts.up.sql:2:1: error index-not-concurrent');
    expect(result.stdout).toContain('lock: SHARE on public.accounts (blocks writes, reads go on); rewrite: no; scan: yes');
    expect(result.stdout).toContain('    CREATE INDEX CONCURRENTLY accounts_email ON public.accounts (email);');
    expect(result.stdout.match(/index-not-concurrent/g)).toHaveLength(1);
    expect(result.stdout).toContain('Linted 3 files (all) for PostgreSQL 15 (configured version), without the server\'s catalog: 1 error, 0 warnings, 0 notices.');
    expect(result.stderr).toContain('MIGRATION_LINT_FAILED: 1 error in the migrations');
    expect(result.stderr).toContain('migrations/3_accounts.up.sql:2:1 index-not-concurrent');
  });

  it('--format github prints workflow commands with file, line, col and title, escaped', async () => {
    const { project: cwd } = await project();
    await writeFile(path.join(cwd, 'migrations', '4_drop.up.sql'), "SET lock_timeout = '5s';\nALTER TABLE accounts DROP COLUMN status;\n");
    const result = await lint(cwd, ['--format', 'github']);
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    const error = lines.find((l) => l.startsWith('::error '));
    expect(error).toMatch(/^::error file=migrations\/3_accounts\.up\.sql,line=2,col=1,title=index-not-concurrent \(error\)::CREATE INDEX on accounts without CONCURRENTLY/);
    expect(error).toContain('%0Alock: SHARE on accounts (blocks writes, reads go on); rewrite: no; scan: yes%0Asafe: ');
    expect(error).toContain('%0A-- tidemark:no-transaction%0ACREATE INDEX CONCURRENTLY accounts_email ON accounts (email);');
    expect(lines.find((l) => l.startsWith('::warning '))).toMatch(/^::warning file=migrations\/4_drop\.up\.sql,line=2,col=1,title=drop-column \(warning\)::DROP COLUMN accounts\.status/);
    expect(lines.filter((l) => l.startsWith('::')).length).toBe(2);
  });

  it('escapes workflow-command data and properties as GitHub reads them', () => {
    expect(escapeData('50% done\r\nnext: a,b')).toBe('50%25 done%0D%0Anext: a,b');
    expect(escapeProperty('dir:a,b/1%.sql')).toBe('dir%3Aa%2Cb/1%25.sql');
  });

  it('--json prints the report; a clean run exits 0', async () => {
    const { project: cwd } = await project();
    const failing = await lint(cwd, ['--json']);
    expect(failing.code).toBe(1);
    const report = JSON.parse(failing.stdout);
    expect(report).toMatchObject({ scope: 'all', pgVersion: 18, pgVersionFrom: 'default', catalog: false, counts: { error: 1, warning: 0, notice: 0 } });
    expect(report.findings[0]).toMatchObject({ rule: 'index-not-concurrent', file: 'migrations/3_accounts.up.sql', line: 2, column: 1, lock: { mode: 'SHARE' } });
    expect(JSON.parse(failing.stderr).error.code).toBe('MIGRATION_LINT_FAILED');

    const clean = await lint(cwd, ['migrations/1_orders.up.sql']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('Linted 1 file (named) for PostgreSQL 18 (default version)');
  });

  it('usage and configuration errors exit 2; a missing file is named', async () => {
    const { project: cwd } = await project();
    const format = await lint(cwd, ['--format', 'xml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('"xml" is not a format');
    const version = await lint(cwd, ['--pg-version', 'sixteen']);
    expect(version.code).toBe(2);
    expect(version.stderr).toContain('--pg-version: "sixteen" is not a PostgreSQL major version');
    await writeFile(path.join(cwd, 'tidemark.lint.json'), JSON.stringify({ rules: { 'index-not-concurent': 'off' } }));
    const config = await lint(cwd);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('CONFIG_INVALID');
    expect(config.stderr).toContain('"rules.index-not-concurent" is not a lint rule');
    // The flag wins over the environment.
    const flagged = await lint(cwd, ['--config', 'tidemark.lint.json'], { TIDEMARK_LINT_CONFIG: 'elsewhere.json' });
    expect(flagged.code).toBe(2);
    expect(flagged.stderr).toContain('"rules.index-not-concurent" is not a lint rule');
  });

  it('a rule the configuration sets to warning no longer fails the run; TIDEMARK_LINT_CONFIG names the file', async () => {
    const { project: cwd } = await project();
    await writeFile(path.join(cwd, 'lint.json'), JSON.stringify({ rules: { 'index-not-concurrent': 'warning' } }));
    const result = await lint(cwd, [], { TIDEMARK_LINT_CONFIG: 'lint.json' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('migrations/3_accounts.up.sql:2:1: warning index-not-concurrent');
    const missing = await lint(cwd, ['migrations/9_nothing.up.sql']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('MIGRATION_SOURCE_FAILED');
    expect(missing.stderr).toContain('read migrations/9_nothing.up.sql');
  });

  it('with a database: lints only the pending migrations, for the server\'s version, with its catalog', async () => {
    const db = await createTestDatabase('lint_cli');
    try {
      await db.query('CREATE TABLE accounts (id bigint PRIMARY KEY, email text)');
      const { project: cwd } = await project();
      const applied = await runCli('migrate', ['--steps', '1'], { cwd, env: { DATABASE_URL: db.url } });
      expect(applied.code, applied.stderr).toBe(0);
      const result = await lint(cwd, [], { DATABASE_URL: db.url });
      expect(result.code, result.stderr).toBe(0);
      // orders now exists in the database: created by an applied migration, not by this run.
      expect(result.stdout).toContain('migrations/2_index.up.sql:3:1: notice index-not-concurrent');
      expect(result.stdout).toContain('migrations/3_accounts.up.sql:2:1: notice index-not-concurrent');
      expect(result.stdout).toContain('table: small');
      expect(result.stdout).toMatch(/Linted 2 files \(pending\) for PostgreSQL 18 \(the server's version\), with the server's catalog: 0 errors, 0 warnings, 2 notices\./);
    } finally {
      await db.close();
    }
  });

  it('an unreachable database: a note, then every file linted statically', async () => {
    const { project: cwd } = await project();
    const result = await lint(cwd, ['--pg-version', '16'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('note: no database reachable');
    expect(result.stdout).toContain('Linted 3 files (all) for PostgreSQL 16 (configured version), without the server\'s catalog');
  });
});

describe('migrate:lint interrupted', () => {
  it('SIGINT stops a long lint between files: INTERRUPTED, exit 130, nothing changed', async () => {
    const { project: cwd, dir } = await migrationsDir({});
    // In batches: twenty thousand files at once would run out of file descriptors.
    for (let from = 1; from <= 20_000; from += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => from + k).map((i) =>
        writeFile(path.join(dir, `${i}_t${i}.up.sql`), `CREATE TABLE t_${i} (id int PRIMARY KEY);\nCREATE INDEX t_${i}_id ON t_${i} (id);\n`)));
    }
    const child = spawnCli('migrate:lint', ['--all'], { cwd });
    const result = collect(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => stderr.includes('linting 20000 files (all) for PostgreSQL 18'), 'the lint to start', 60_000);
    child.kill('SIGINT');
    const { code, stdout, stderr: all } = await result;
    expect(code, all).toBe(130);
    expect(stdout).toBe('');
    expect(all).toContain('INTERRUPTED: interrupted by SIGINT');
    expect(all).toContain('nothing was changed: the lint only reads');
  });
});

describe('migrate --lint and autoMigrate({ lint: true })', () => {
  const files = {
    '1_t.up.sql': 'CREATE TABLE t (id int);', '1_t.down.sql': 'DROP TABLE t;',
    '2_gone.up.sql': 'DROP TABLE t CASCADE;', '2_gone.down.sql': 'CREATE TABLE t (id int);',
  };
  const state = async (db: Awaited<ReturnType<typeof createTestDatabase>>) => ({
    version: (await db.query('SELECT version::int AS v, dirty FROM schema_migrations')).rows[0],
    table: (await db.query("SELECT to_regclass('t') IS NOT NULL AS exists")).rows[0].exists,
  });

  it('an error finding in a pending migration applies nothing; the findings are printed', async () => {
    const db = await createTestDatabase('lint_gate');
    const { project: cwd } = await migrationsDir(files);
    const env = { DATABASE_URL: db.url };
    expect((await runCli('migrate', ['--steps', '1'], { cwd, env })).code).toBe(0);
    const refused = await runCli('migrate', ['--lint'], { cwd, env });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('migrations/2_gone.up.sql:1:1: error drop-cascade');
    expect(refused.stderr).toMatch(/^MIGRATION_LINT_FAILED: 1 error in the migrations/);
    expect(await state(db)).toEqual({ version: { v: 1, dirty: false }, table: true });
    // Without the gate the same run applies it: the refusal was the lint's.
    expect((await runCli('migrate', [], { cwd, env })).code).toBe(0);
    expect(await state(db)).toEqual({ version: { v: 2, dirty: false }, table: false });
  });

  it('warnings alone let the run go on, printed before it', async () => {
    const db = await createTestDatabase('lint_gate_warn');
    const { project: cwd } = await migrationsDir({ ...files, '2_gone.up.sql': 'DROP TABLE t;' });
    const env = { DATABASE_URL: db.url };
    expect((await runCli('migrate', ['--steps', '1'], { cwd, env })).code).toBe(0);
    const result = await runCli('migrate', ['--lint'], { cwd, env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/warning drop-table[^]*Migrated from version 1 to 2/);
    expect(await state(db)).toEqual({ version: { v: 2, dirty: false }, table: false });
  });

  it('autoMigrate({ lint: true }) throws MIGRATION_LINT_FAILED and applies nothing', async () => {
    const db = await createTestDatabase('lint_gate_api');
    const { project: cwd, dir } = await migrationsDir(files);
    const { autoMigrate } = await import('../src/index.js');
    await expect(autoMigrate({ cwd, migrationsDir: dir, env: { DATABASE_URL: db.url }, lint: true })).rejects.toMatchObject({ code: 'MIGRATION_LINT_FAILED', data: { rules: ['drop-cascade'] } });
    // The lint only reads: not even the version table was created.
    expect((await db.query("SELECT to_regclass('schema_migrations') IS NULL AS none")).rows[0].none).toBe(true);
    const report = await autoMigrate({ cwd, migrationsDir: dir, env: { DATABASE_URL: db.url } });
    expect(report).toMatchObject({ skipped: false });
    expect(await state(db)).toEqual({ version: { v: 2, dirty: false }, table: false });
  });
});
