import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lintMigrations, loadSettings, migrate, RULE_IDS, RULES, type LintReport } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { ROOT } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/lint');
/** The rules a bad/good fixture pair stands for (the rest: ignores, tested on their own). */
const FIXTURE_RULES = RULE_IDS.filter((r) => !['ignore-without-reason', 'unmatched-ignore', 'enum-add-value-in-transaction'].includes(r));

let project: string;
beforeAll(async () => {
  // A project of its own: no tidemark.lint.json, no .env.
  project = await mkdtemp(path.join(tmpdir(), 'tidemark-lint-'));
});

async function fixtureFiles(name: string): Promise<string[]> {
  const full = path.join(FIXTURES, name);
  if (!(await stat(full)).isDirectory()) return [full];
  return (await readdir(full)).sort().map((f) => path.join(full, f));
}

/** The rule and line a bad fixture promises: the line after its `-- lint-expect: RULE`. */
async function expectation(rule: string): Promise<[string, number]> {
  const lines = (await readFile(path.join(FIXTURES, `${rule}.bad.sql`), 'utf8')).split('\n');
  const marker = lines.findIndex((l) => l === `-- lint-expect: ${rule}`);
  expect(marker, `${rule}.bad.sql has its marker`).toBeGreaterThanOrEqual(0);
  return [rule, marker + 2];
}

interface LintRun {
  pgVersion?: number;
  databaseUrl?: string;
  cwd?: string;
  /** The runner's --ddl-lock-timeout; the fixtures are linted as for a runner that sets none ('0'), where missing-lock-timeout speaks. */
  ddlLockTimeout?: string;
}

async function lintFiles(files: string[], run: LintRun = {}): Promise<LintReport> {
  const env = { TIDEMARK_DDL_LOCK_TIMEOUT: run.ddlLockTimeout ?? '0', ...(run.databaseUrl ? { DATABASE_URL: run.databaseUrl } : {}) };
  const settings = loadSettings({ cwd: run.cwd ?? project, env, requireDatabase: false, lint: true, lintPgVersion: run.pgVersion });
  return lintMigrations(settings, { files });
}

const found = (report: LintReport) => report.findings.map((f) => [f.rule, f.line]);

describe.each([15, 18])('static lint for PostgreSQL %i', (pgVersion) => {
  it.each(FIXTURE_RULES)('%s: the bad fixture has the finding on its line, the good one none', async (rule) => {
    const bad = await lintFiles(await fixtureFiles(`${rule}.bad.sql`), { pgVersion });
    expect(bad.catalog).toBe(false);
    expect(bad.pgVersion).toBe(pgVersion);
    expect(found(bad)).toEqual([await expectation(rule)]);
    const good = await lintFiles(await goodFixture(rule), { pgVersion });
    expect(found(good)).toEqual([]);
  });

  it('missing-lock-timeout stands down when the runner sets a lock_timeout itself (its default, 5s)', async () => {
    const files = await fixtureFiles('missing-lock-timeout.bad.sql');
    expect(found(await lintFiles(files, { pgVersion }))).toEqual([await expectation('missing-lock-timeout')]);
    expect(found(await lintFiles(files, { pgVersion, ddlLockTimeout: '5s' }))).toEqual([]);
  });

  it('enum-add-value-in-transaction: allowed in a transaction from PostgreSQL 12', async () => {
    const bad = await lintFiles(await fixtureFiles('enum-add-value-in-transaction.bad.sql'), { pgVersion });
    expect(found(bad)).toEqual([]);
  });
});

async function isDir(name: string): Promise<boolean> {
  return (await stat(path.join(FIXTURES, name)).catch(() => undefined))?.isDirectory() ?? false;
}

async function goodFixture(rule: string): Promise<string[]> {
  return fixtureFiles((await isDir(`${rule}.good`)) ? `${rule}.good` : `${rule}.good.sql`);
}

describe('version-aware rules (static)', () => {
  it('enum-add-value-in-transaction before PostgreSQL 12, and not in a no-transaction file', async () => {
    const bad = await lintFiles(await fixtureFiles('enum-add-value-in-transaction.bad.sql'), { pgVersion: 11 });
    expect(found(bad)).toEqual([await expectation('enum-add-value-in-transaction')]);
    expect(bad.findings[0].severity).toBe('error');
    const good = await lintFiles(await goodFixture('enum-add-value-in-transaction'), { pgVersion: 11 });
    expect(found(good)).toEqual([]);
  });

  it('a constant default rewrites before PostgreSQL 11 only', async () => {
    const files = await goodFixture('add-column-volatile-default');
    expect(found(await lintFiles(files, { pgVersion: 10 }))).toEqual([['add-column-volatile-default', 2]]);
    expect(found(await lintFiles(files, { pgVersion: 11 }))).toEqual([]);
  });

  it('a virtual generated column adds without a rewrite on PostgreSQL 18 only', async () => {
    const { dir } = await migrationsDir({ '1_v.up.sql': "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN twice bigint GENERATED ALWAYS AS (total * 2) VIRTUAL;\n" });
    const file = [path.join(dir, '1_v.up.sql')];
    expect(found(await lintFiles(file, { pgVersion: 18 }))).toEqual([]);
    expect(found(await lintFiles(file, { pgVersion: 17 }))).toEqual([['add-column-generated-stored', 2]]);
  });

  it('PostgreSQL 18: NOT NULL ... NOT VALID, validated later, is the safe way; without NOT VALID it scans', async () => {
    const { dir } = await migrationsDir({
      '1_add.up.sql': "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT orders_status_nn NOT NULL status NOT VALID;\n",
      '2_validate.up.sql': "SET lock_timeout = '5s';\nALTER TABLE orders VALIDATE CONSTRAINT orders_status_nn;\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n",
      '3_scan.up.sql': "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note;\n",
    });
    const report = await lintFiles(['1_add.up.sql', '2_validate.up.sql', '3_scan.up.sql'].map((f) => path.join(dir, f)), { pgVersion: 18 });
    expect(report.findings.map((f) => [path.basename(f.file), f.rule, f.line])).toEqual([['3_scan.up.sql', 'set-not-null-scans', 2]]);
    expect(report.findings[0].safeSql).toContain('NOT NULL note NOT VALID');
  });

  it('a CHECK proves NOT NULL only from PostgreSQL 12, and VALIDATE in the ADD\'s own transaction gains nothing', async () => {
    expect(found(await lintFiles(await goodFixture('set-not-null-scans'), { pgVersion: 11 }))).toEqual([['set-not-null-scans', 3]]);
    const { dir } = await migrationsDir({
      '1_both.up.sql': "SET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\n",
    });
    expect(found(await lintFiles([path.join(dir, '1_both.up.sql')], { pgVersion: 15 }))).toEqual([['foreign-key-not-valid', 3]]);
  });
});

describe('state across statements and files', () => {
  it('an index on a table created earlier in the run needs no CONCURRENTLY; once that table exists in the database it does', async () => {
    const db = await createTestDatabase('lint_state');
    try {
      const { project: cwd, dir } = await migrationsDir({
        '1_events.up.sql': 'CREATE TABLE events (id bigint PRIMARY KEY, kind text);\n',
        '2_events_kind.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX events_kind ON events (kind);\n",
      });
      const settings = (databaseUrl?: string) => loadSettings({ cwd, migrationsDir: dir, env: databaseUrl ? { DATABASE_URL: databaseUrl } : {}, requireDatabase: false });
      const everything = await lintMigrations(settings(), {});
      expect(everything.scope).toBe('all');
      expect(everything.files).toEqual(['migrations/1_events.up.sql', 'migrations/2_events_kind.up.sql']);
      expect(everything.findings).toEqual([]);

      await migrate(settings(db.url) as Parameters<typeof migrate>[0], { steps: 1 });
      const pending = await lintMigrations(settings(db.url), {});
      expect(pending.scope).toBe('pending');
      expect(pending.catalog).toBe(true);
      expect(pending.files).toEqual(['migrations/2_events_kind.up.sql']);
      expect(pending.findings.map((f) => [f.file, f.rule, f.line, f.column, f.severity, f.size])).toEqual([
        ['migrations/2_events_kind.up.sql', 'index-not-concurrent', 2, 1, 'notice', 'small'],
      ]);
      expect((await lintMigrations(settings(db.url), { all: true })).findings).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('ignores', () => {
  it('an ignore with a reason silences its rule on the next statement; without a reason, or matching nothing, it is a finding', async () => {
    const { dir } = await migrationsDir({
      '1_i.up.sql': [
        "SET lock_timeout = '5s';",
        '-- tidemark:lint-ignore index-not-concurrent orders holds 40 rows',
        'CREATE INDEX a ON orders (status);',
        '-- tidemark:lint-ignore index-not-concurrent',
        'CREATE INDEX b ON orders (note);',
        '-- tidemark:lint-ignore truncate there is no truncate here',
        'CREATE INDEX c ON orders (total);',
        '-- tidemark:lint-ignore no-such-rule because',
        '-- tidemark:lint-ignore drop-column stacked, and it matches',
        'ALTER TABLE orders DROP COLUMN note;',
        '',
      ].join('\n'),
    });
    const report = await lintFiles([path.join(dir, '1_i.up.sql')], { pgVersion: 15 });
    expect(report.findings.map((f) => [f.rule, f.line, f.severity])).toEqual([
      ['ignore-without-reason', 4, 'error'],
      ['index-not-concurrent', 5, 'error'],
      ['unmatched-ignore', 6, 'warning'],
      ['index-not-concurrent', 7, 'error'],
      ['unmatched-ignore', 8, 'warning'],
    ]);
    expect(report.findings[4].message).toContain('no-such-rule');
  });
});

describe('findings', () => {
  it('carry the lock, what it blocks, the rewrite and scan claims, and the exact safe SQL', async () => {
    const report = await lintFiles(await fixtureFiles('index-not-concurrent.bad.sql'), { pgVersion: 18 });
    const [finding] = report.findings;
    expect(finding).toMatchObject({
      rule: 'index-not-concurrent', severity: 'error', line: 3, column: 1, statement: 'CREATE INDEX orders_status ON orders (status)',
      lock: { mode: 'SHARE', on: 'orders', blocksReads: false, blocksWrites: true }, rewrite: 'no', scan: 'yes', size: 'unknown',
      safeSql: "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY orders_status ON orders (status);",
    });
    const fk = (await lintFiles(await fixtureFiles('foreign-key-not-valid.bad.sql'), { pgVersion: 18 })).findings[0];
    expect(fk.safeSql).toBe('ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n'
      + '-- in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;');
  });

  it('a statement that does not start its line has its column', async () => {
    const { dir } = await migrationsDir({ '1_c.up.sql': "SET lock_timeout = '5s'; /* é */ TRUNCATE orders;\n" });
    const report = await lintFiles([path.join(dir, '1_c.up.sql')], { pgVersion: 15 });
    expect(report.findings.map((f) => [f.rule, f.line, f.column])).toEqual([['truncate', 1, 34]]);
  });
});

const SERVERS = [['PostgreSQL 18', () => inject('pg18Url'), 18], ['PostgreSQL 15', () => inject('pgToolsUrl'), 15]] as const;

describe.each(SERVERS)('catalog-aware lint against %s', (_label, serverUrl, major) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(`lint_catalog_${major}`, serverUrl());
    await db.query(await readFile(path.join(FIXTURES, 'schema.sql'), 'utf8'));
  });
  afterAll(async () => {
    await db?.close();
  });

  it.each(FIXTURE_RULES)('%s: the bad fixture has the finding, a notice on the small table; the good one none', async (rule) => {
    const bad = await lintFiles(await fixtureFiles(`${rule}.bad.sql`), { databaseUrl: db.url, pgVersion: 11 });
    expect(bad).toMatchObject({ catalog: true, pgVersion: major, pgVersionFrom: 'server' });
    expect(found(bad)).toEqual([await expectation(rule)]);
    const [finding] = bad.findings;
    expect(finding.severity).toBe(RULES[rule].sizeRanked && finding.table ? 'notice' : RULES[rule].severity);
    expect(found(await lintFiles(await goodFixture(rule), { databaseUrl: db.url }))).toEqual([]);
  });

  it('the server\'s version decides: ALTER TYPE ... ADD VALUE in a transaction is fine from 12', async () => {
    expect(found(await lintFiles(await fixtureFiles('enum-add-value-in-transaction.bad.sql'), { databaseUrl: db.url }))).toEqual([]);
  });

  it('a binary-coercible type change is no finding; one that is not rewrites', async () => {
    const { dir } = await migrationsDir({
      '1.up.sql': "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN email TYPE text;\nALTER TABLE users ALTER COLUMN email TYPE varchar(40);\n"
        + 'ALTER TABLE orders ALTER COLUMN note TYPE varchar(10);\nALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);\n',
    });
    const report = await lintFiles([path.join(dir, '1.up.sql')], { databaseUrl: db.url });
    expect(report.findings.map((f) => [f.rule, f.line, f.rewrite])).toEqual([['column-type-rewrites', 4, 'yes'], ['column-type-rewrites', 5, 'yes']]);
    const offline = await lintFiles([path.join(dir, '1.up.sql')], { pgVersion: major });
    expect(offline.findings.map((f) => [f.line, f.rewrite, f.severity])).toEqual([[2, 'maybe', 'warning'], [3, 'maybe', 'warning'], [4, 'maybe', 'warning'], [5, 'maybe', 'warning']]);
  });

  it('a validated CHECK (c IS NOT NULL) lets SET NOT NULL skip its scan', async () => {
    await db.query('ALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL)');
    const { dir } = await migrationsDir({ '1.up.sql': "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN name SET NOT NULL;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n" });
    expect(found(await lintFiles([path.join(dir, '1.up.sql')], { databaseUrl: db.url }))).toEqual([['set-not-null-scans', 3]]);
  });

  it('pg_proc says whether a default function is volatile', async () => {
    await db.query("CREATE FUNCTION pick_volatile() RETURNS int VOLATILE LANGUAGE sql AS 'SELECT 1'");
    await db.query("CREATE FUNCTION pick_immutable() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT 1'");
    const { dir } = await migrationsDir({
      '1.up.sql': "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN a int DEFAULT pick_volatile();\nALTER TABLE users ADD COLUMN b int DEFAULT pick_immutable();\n",
    });
    const online = await lintFiles([path.join(dir, '1.up.sql')], { databaseUrl: db.url });
    expect(online.findings.map((f) => [f.rule, f.line, f.rewrite])).toEqual([['add-column-volatile-default', 2, 'yes']]);
    const offline = await lintFiles([path.join(dir, '1.up.sql')], { pgVersion: major });
    expect(offline.findings.map((f) => [f.line, f.rewrite, f.severity])).toEqual([[2, 'maybe', 'warning'], [3, 'maybe', 'warning']]);
  });

  it('ranks by size: a table of millions of rows makes the same finding an error', async () => {
    const big = await createTestDatabase(`lint_big_${major}`, serverUrl());
    try {
      await big.query(await readFile(path.join(FIXTURES, 'schema.sql'), 'utf8'));
      // The planner's estimate is what the linter reads: set as ANALYZE would for a big table.
      await big.query("UPDATE pg_class SET reltuples = 5000000 WHERE oid = 'orders'::regclass");
      const report = await lintFiles(await fixtureFiles('index-not-concurrent.bad.sql'), { databaseUrl: big.url });
      expect(report.findings.map((f) => [f.rule, f.severity, f.size, f.rows])).toEqual([['index-not-concurrent', 'error', 'big', 5_000_000]]);
      const small = await lintFiles(await fixtureFiles('index-not-concurrent.bad.sql'), { databaseUrl: db.url });
      expect(small.findings.map((f) => [f.severity, f.size])).toEqual([['notice', 'small']]);
    } finally {
      await big.close();
    }
  });
});

describe('lint configuration', () => {
  it('a rule set off or to another severity in tidemark.lint.json', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'tidemark-lint-config-'));
    await writeFile(path.join(cwd, 'tidemark.lint.json'), JSON.stringify({ pgVersion: 11, rules: { 'index-not-concurrent': 'warning', 'truncate': 'off' } }));
    const files = [...(await fixtureFiles('index-not-concurrent.bad.sql')), ...(await fixtureFiles('truncate.bad.sql')), ...(await fixtureFiles('enum-add-value-in-transaction.bad.sql'))];
    const report = await lintFiles(files, { cwd });
    expect(report).toMatchObject({ pgVersion: 11, pgVersionFrom: 'configuration' });
    expect(report.findings.map((f) => [f.rule, f.severity])).toEqual([['index-not-concurrent', 'warning'], ['enum-add-value-in-transaction', 'error']]);
  });
});

describe('lint settings precedence', () => {
  it('a broken tidemark.lint.json stops the lint only, never the settings of another command', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'tidemark-lint-broken-'));
    await writeFile(path.join(cwd, 'tidemark.lint.json'), '{ "rules": ');
    expect(loadSettings({ cwd, env: {}, requireDatabase: false }).lint).toBeUndefined();
    expect(() => loadSettings({ cwd, env: {}, requireDatabase: false, lint: true })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
  it('flag > environment > .env > tidemark.lint.json > the embedded server\'s version; a bad value names its source', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'tidemark-lint-precedence-'));
    const version = (input: { lintPgVersion?: string }, env: Record<string, string> = {}) => loadSettings({ cwd, env, requireDatabase: false, lint: true, ...input }).lint?.pgVersion;
    expect(version({})).toBeUndefined();
    await writeFile(path.join(cwd, 'tidemark.lint.json'), '{"pgVersion": 11}');
    expect(version({})).toBe(11);
    await writeFile(path.join(cwd, '.env'), 'TIDEMARK_LINT_PG_VERSION=12\n');
    expect(version({})).toBe(12);
    expect(version({}, { TIDEMARK_LINT_PG_VERSION: '14' })).toBe(14);
    expect(version({ lintPgVersion: '16' }, { TIDEMARK_LINT_PG_VERSION: '14' })).toBe(16);
    expect(() => version({}, { TIDEMARK_LINT_PG_VERSION: '14.2' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', reason: 'TIDEMARK_LINT_PG_VERSION: "14.2" is not a PostgreSQL major version (such as 15 or 18)' }));
    expect(() => loadSettings({ cwd, env: { TIDEMARK_LINT_CONFIG: 'missing.json' }, requireDatabase: false, lint: true }))
      .toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', reason: 'the file does not exist (TIDEMARK_LINT_CONFIG)' }));
  });
});
