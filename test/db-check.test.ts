import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { DEMO_DIR } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';
import { findFreePort } from '../src/devdb/cluster.js';

let db: TestDatabase;
let role: string;
beforeAll(async () => {
  db = await createTestDatabase('check');
  role = `nocreate_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'role-pw-123'`);
});
afterAll(async () => {
  await db.close();
  const admin = new pg.Client({ connectionString: new URL('/postgres', db.url).toString() });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
});

const check = (args: string[], env: Record<string, string> = {}) => runCli('db:check', ['--dir', DEMO_DIR, ...args], { env: { DATABASE_URL: db.url, ...env } });
const lineOf = (stdout: string, label: string) => stdout.split('\n').find((l) => l.slice(8).startsWith(label));

describe('db:check', () => {
  it('fails the migrations line while migrations are pending, and the extension line until it is installed', async () => {
    const result = await check(['--extension', 'pg_trgm']);
    expect(result.code).toBe(1);
    expect(lineOf(result.stdout, 'extension pg_trgm')).toMatch(/^ {2}FAIL {2}extension pg_trgm {2}available \(version [\d.]+\) but not installed in this database$/);
    expect(lineOf(result.stdout, 'migrations')).toMatch(/^ {2}FAIL {2}migrations {9}5 pending \(database at no version, files up to 5\)$/);
    expect(result.stdout).toContain('remedy: CREATE EXTENSION pg_trgm; (in a migration)');
    expect(result.stdout).toContain('remedy: tidemark migrate\n');
    expect(result.stdout).toContain('2 of 5 checks failed.');
    expect(result.stderr).toMatch(/^CHECK_FAILED: 2 of 5 checks failed\n {2}operation: check postgres:\/\/postgres:\*\*\*\*@.+\n {2}error: extension pg_trgm: available .+; migrations: 5 pending/);
  });

  it('passes every line on a migrated database with the extension', async () => {
    expect((await runCli('migrate', ['--dir', DEMO_DIR], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const result = await check(['--extension', 'pg_trgm', '--min-version', '18']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').slice(1, -2).map((l) => l.slice(0, 8))).toEqual(Array(5).fill('  ok    '));
    expect(result.stdout).toContain('All 5 checks passed.');
    const json = JSON.parse((await check(['--json', '--extension', 'pg_trgm'], { TIDEMARK_MIN_PG_VERSION: '16.4' })).stdout);
    expect(json.ok).toBe(true);
    expect(json.checks.map((c: { check: string; status: string }) => `${c.check}:${c.status}`)).toEqual(['connection:pass', 'server-version:pass', 'extension:pass', 'privileges:pass', 'migrations:pass']);
    expect(json.checks[1].detail).toMatch(/^PostgreSQL 18\.\d+, at least 16\.4$/);
  });

  it('fails on an extension the server does not have, and on a server older than the minimum', async () => {
    const result = await check(['--json', '--extension', 'pg_trgm,no_such_extension'], { TIDEMARK_MIN_PG_VERSION: '99' });
    expect(result.code).toBe(1);
    const { checks } = JSON.parse(result.stdout);
    expect(checks.filter((c: { status: string }) => c.status === 'fail')).toEqual([
      expect.objectContaining({ check: 'server-version', detail: expect.stringMatching(/^PostgreSQL 18\.\d+ is older than the required 99$/), remedy: expect.stringContaining('upgrade') }),
      expect.objectContaining({ label: 'extension no_such_extension', detail: 'not available on the server', remedy: expect.stringContaining('postgresql-contrib') }),
    ]);
    expect(JSON.parse(result.stderr).error).toMatchObject({ code: 'CHECK_FAILED', message: '2 of 6 checks failed' });
    // TIDEMARK_REQUIRED_EXTENSIONS is the default list; --extension replaces it.
    const configured = await check([], { TIDEMARK_REQUIRED_EXTENSIONS: 'pg_trgm, citext' });
    expect(lineOf(configured.stdout, 'extension citext')).toContain('FAIL');
    expect(lineOf(configured.stdout, 'extension pg_trgm')).toContain('ok');
    expect((await check(['--min-version', '18.x'])).stderr).toMatch(/^CONFIG_INVALID[^]*"18\.x" is not a PostgreSQL version/);
  });

  it('fails the privileges line for a role that may not CREATE', async () => {
    const url = new URL(db.url);
    url.username = role;
    url.password = 'role-pw-123';
    const result = await check([], { DATABASE_URL: url.toString() });
    expect(result.code).toBe(1);
    expect(lineOf(result.stdout, 'privileges')).toBe(`  FAIL  privileges      ${role} may not CREATE in database ${db.name} nor in schema public`);
    expect(result.stdout).toContain(`remedy: as the owner: GRANT CREATE ON DATABASE ${db.name} TO ${role}; GRANT CREATE ON SCHEMA public TO ${role};`);
  });

  it('fails the migrations line on a dirty database', async () => {
    await db.query('UPDATE schema_migrations SET dirty = true');
    try {
      const result = await check([]);
      expect(lineOf(result.stdout, 'migrations')).toBe('  FAIL  migrations      dirty at version 5');
      expect(result.stdout).toContain('remedy: repair what the failed migration left, then tidemark migrate:force 5');
    } finally {
      await db.query('UPDATE schema_migrations SET dirty = false');
    }
  });

  it('an unreachable server fails at once, or after --timeout with --wait, and skips the other lines', async () => {
    const port = await findFreePort();
    const env = { DATABASE_URL: `postgres://u:pw-xyz@127.0.0.1:${port}/x` };
    const once = await check(['--extension', 'pg_trgm'], env);
    expect(once.code).toBe(1);
    expect(lineOf(once.stdout, 'connection')).toBe(`  FAIL  connection         connection refused (is PostgreSQL running and listening there?) at 127.0.0.1:${port}`);
    expect(once.stdout.split('\n').filter((l) => l.startsWith('  skip')).length).toBe(4);
    const waited = await check(['--wait', '--timeout', '1s'], env);
    expect(waited.code).toBe(1);
    expect(lineOf(waited.stdout, 'connection')).toMatch(/^ {2}FAIL {2}connection {6}gave up after [\d.]+ (s|ms), \d+ attempts: connection refused/);
    expect(waited.stderr).toMatch(/^waiting for the database: connection refused[^\n]*\nCHECK_FAILED: 1 of 4 checks failed/);
  });

  it('--wait connects once the server is reachable; a wrong password is not retried', async () => {
    const port = await findFreePort();
    const target = new URL(db.url);
    const child = spawnCli('db:check', ['--dir', DEMO_DIR, '--wait', '--timeout', '60s'], { env: { DATABASE_URL: Object.assign(new URL(db.url), { port: String(port) }).toString() } });
    const done = collect(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => stderr.includes('waiting for the database'), 'db:check to start waiting');
    // The server "comes up": a proxy to the real one starts listening on the port.
    const proxy = net.createServer((socket) => socket.pipe(net.connect(Number(target.port), target.hostname)).pipe(socket));
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    try {
      const result = await done;
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(lineOf(result.stdout, 'connection')).toMatch(/^ {2}ok {4}connection {6}connected as postgres in .+, \d+ attempts$/);
    } finally {
      proxy.close();
    }
    const wrong = new URL(db.url);
    wrong.password = 'wrong-password';
    const refused = await check(['--wait', '--timeout', '60s'], { DATABASE_URL: wrong.toString() });
    expect(refused.code).toBe(1);
    expect(lineOf(refused.stdout, 'connection')).toMatch(/^ {2}FAIL {2}connection {6}password authentication failed for user "postgres" \(SQLSTATE 28P01\)$/);
    expect(refused.stdout).toContain('remedy: check the user, password and database name in DATABASE_URL');
    expect(refused.stderr).not.toContain('waiting for the database');
  });
});
