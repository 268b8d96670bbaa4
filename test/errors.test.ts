import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runCli, type CliResult } from './helpers/cli.js';
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
    expect(result.stderr).toContain('task db:start');
  });

  it.each([
    ['not-a-url', 'not a URL'],
    ['mysql://u:hunter2@localhost/db', 'unsupported scheme'],
    ['postgres://u:hunter2@localhost', 'no database name'],
  ])('malformed DATABASE_URL %s is MIGRATION_INIT_FAILED', async (url, cause) => {
    const result = await runCli('migrate:status', ['--dir', DEMO_DIR], { env: { DATABASE_URL: url } });
    expectCoded(result, 'MIGRATION_INIT_FAILED', 1);
    expect(result.stderr).toContain(cause);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });

  it('a wrong password is MIGRATION_INIT_FAILED, in plain words, without the password', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-password-xyz';
    const result = await runCli('migrate', ['--dir', DEMO_DIR], { env: { DATABASE_URL: url.toString() } });
    expectCoded(result, 'MIGRATION_INIT_FAILED', 1);
    expect(result.stderr).toContain('password authentication failed for user "postgres"');
    expect(result.stderr).not.toContain('not-the-password-xyz');
    expect(result.stderr).toContain(':****@');
  });

  it('an unreachable server is MIGRATION_INIT_FAILED', async () => {
    const port = await findFreePort();
    const result = await runCli('migrate', ['--dir', DEMO_DIR], { env: { DATABASE_URL: `postgres://u:secretpw@127.0.0.1:${port}/x` } });
    expectCoded(result, 'MIGRATION_INIT_FAILED', 1);
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
      ['migrate:version', []], ['migrate:down', ['--dry-run', '--sql']], ['migrate:force', ['1']], ['migrate:goto', ['1']], ['migrate:bootstrap', []],
    ] as const;
    for (const [target, args] of runs) {
      const result = await runCli(target, ['--dir', dir, ...args], { cwd: project });
      expect(result.stdout + result.stderr, `${target} ${args.join(' ')}`).not.toContain(password);
    }
  });
});
