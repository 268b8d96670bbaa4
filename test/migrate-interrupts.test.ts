import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { migrationsDir } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';
import { autoMigrate, TidemarkError } from '../src/index.js';

const open: TestDatabase[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((fn) => fn()));
  await Promise.all(open.splice(0).map((db) => db.close()));
});

async function database(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  open.push(db);
  return db;
}

const versionOf = async (db: TestDatabase) => (await db.query('SELECT version::text AS v, dirty FROM schema_migrations')).rows[0];
const tableExists = async (db: TestDatabase, name: string) => (await db.query('SELECT to_regclass($1) IS NOT NULL AS e', [name])).rows[0].e as boolean;

/** Waits until a tidemark backend of this database runs a statement matching `text`. */
function waitForStatement(db: TestDatabase, text: string) {
  return waitFor(async () => (await db.query(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark' AND state = 'active' AND query LIKE $1",
    [`%${text}%`],
  )).rows[0]?.pid as number | undefined, `a statement with ${text}`);
}

const noTidemarkBackend = (db: TestDatabase) => waitFor(async () => (await db.query(
  "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark'",
)).rows[0].n === 0, 'the tidemark backends to end');

describe('interrupting a migration', () => {
  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s cancels a transactional migration on the server: rolled back, still at the previous version', async (signal, status) => {
    const db = await database(`int_${signal}`);
    const { dir } = await migrationsDir({
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '2_slow.up.sql': 'CREATE TABLE b (id int);\nSELECT pg_sleep(60);\n',
      '3_c.up.sql': 'CREATE TABLE c (id int);',
    });
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    const done = collect(child);
    await waitForStatement(db, 'pg_sleep(60)');
    child.kill(signal);
    const result = await done;
    expect(result.code, result.stderr).toBe(status);
    expect(result.stderr).toContain(`${signal}: cancelling the running migration on the server`);
    expect(result.stderr).toMatch(/^INTERRUPTED: interrupted by SIG/m);
    expect(result.stderr).toContain('migration 2 (2_slow.up.sql) was cancelled on the server');
    expect(result.stderr).toContain('migration 2 was not applied; the database is at version 1, not dirty');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await versionOf(db)).toEqual({ v: '1', dirty: false });
    expect(await tableExists(db, 'b')).toBe(false);
    await noTidemarkBackend(db);
  });

  it('SIGINT during a no-transaction migration stops it between statements and says it is dirty', async () => {
    const db = await database('int_notx');
    const { dir } = await migrationsDir({
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '2_idx.up.sql': '-- tidemark:no-transaction\nCREATE TABLE b (id int);\nSELECT pg_sleep(60);\nCREATE TABLE c (id int);\n',
    });
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    const done = collect(child);
    await waitForStatement(db, 'pg_sleep(60)');
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('statement 1 of 3 ran and stays applied');
    expect(result.stderr).toContain('the database is dirty at version 2');
    expect(await versionOf(db)).toEqual({ v: '2', dirty: true });
    expect(await tableExists(db, 'b')).toBe(true);
    expect(await tableExists(db, 'c')).toBe(false);
  });

  it('a second signal exits at once, saying what it knows', async () => {
    const db = await database('int_twice');
    const { dir } = await migrationsDir({ '1_slow.up.sql': 'SELECT pg_sleep(60);' });
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const done = collect(child);
    const backend = await waitForStatement(db, 'pg_sleep(60)');
    // A backend that is stopped cannot answer the cancel: only the second signal ends the wait.
    process.kill(backend, 'SIGSTOP');
    cleanups.push(() => {
      process.kill(backend, 'SIGCONT');
    });
    child.kill('SIGINT');
    await waitFor(async () => stderr.includes('SIGINT: cancelling'), 'the first signal to be taken');
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('SIGINT again: exiting now; migration 1 (1_slow.up.sql) was running');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('lost connections and locks', () => {
  it('a connection killed under a migration is a coded error that reports the state read again', async () => {
    const db = await database('lost');
    const { dir } = await migrationsDir({
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '2_slow.up.sql': 'CREATE TABLE b (id int);\nSELECT pg_sleep(60);\n',
    });
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    const done = collect(child);
    const pid = await waitForStatement(db, 'pg_sleep(60)');
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    const result = await done;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^MIGRATION_UP_FAILED: migration failed/m);
    expect(result.stderr).toContain('the connection to the server was lost');
    expect(result.stderr).toContain('after reconnecting: migration 2 was not applied; the database is at version 1, not dirty');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('autoMigrate() throws a TidemarkError when the connection dies under it', async () => {
    const db = await database('lost_api');
    const { dir } = await migrationsDir({ '1_slow.up.sql': 'SELECT pg_sleep(60);' });
    const running = autoMigrate({ databaseUrl: db.url, migrationsDir: dir, env: {} });
    const pid = await waitForStatement(db, 'pg_sleep(60)');
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TidemarkError);
    expect(err).toMatchObject({ code: 'MIGRATION_UP_FAILED', data: { connectionLost: true } });
  });

  it('a migration that waits for a table lock says so while it waits, naming the session that holds it', async () => {
    const db = await database('blocked');
    const { dir } = await migrationsDir({
      '1_gate.up.sql': 'CREATE TABLE gate (id int);',
      '2_alter.up.sql': 'ALTER TABLE gate ADD COLUMN note text;',
    });
    expect((await runCli('migrate', ['--dir', dir, '--steps', '1'], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'the-blocker' });
    blocker.on('error', () => undefined);
    await blocker.connect();
    cleanups.push(() => blocker.end().catch(() => undefined));
    await blocker.query('BEGIN; LOCK TABLE gate IN ACCESS SHARE MODE');
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url, TIDEMARK_LOCK_REPORT_INTERVAL: '200ms' } });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const done = collect(child);
    await waitFor(async () => stderr.includes('AccessExclusiveLock on gate'), 'the lock-wait report');
    expect(stderr).toMatch(/migration 2 has waited .* for AccessExclusiveLock on gate, held by pid \d+ \("the-blocker", user postgres/);
    expect(stderr).toContain('idle in transaction');
    await blocker.query('ROLLBACK');
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(await versionOf(db)).toEqual({ v: '2', dirty: false });
  });
});

/** A TCP proxy to the server whose open connections can be made to stop forwarding (new ones still pass). */
async function stallingProxy(target: URL): Promise<{ url: string; stallOpen(): void; close(): Promise<void> }> {
  const pairs: Array<[net.Socket, net.Socket]> = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target.toString());
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    stallOpen: () => pairs.splice(0).forEach(([a, b]) => {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a connection that dies without a word', () => {
  it('is noticed while the migration waits for its answer, and the state is read again', async () => {
    const db = await database('halfopen');
    const { dir } = await migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);', '2_slow.up.sql': 'CREATE TABLE b (id int);\nSELECT pg_sleep(0.5);' });
    const proxy = await stallingProxy(new URL(db.url));
    cleanups.push(() => proxy.close());
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: proxy.url, TIDEMARK_LOCK_REPORT_INTERVAL: '300ms' } });
    const done = collect(child);
    await waitForStatement(db, 'pg_sleep(0.5)');
    // The answer to migration 2 never reaches the command; the server has committed it.
    proxy.stallOpen();
    const result = await done;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^MIGRATION_UP_FAILED/m);
    expect(result.stderr).toContain('the connection to the server was lost');
    expect(result.stderr).toContain('after reconnecting: migration 2 was applied (committed before the connection ended); the database is at version 2, not dirty');
    expect(await versionOf(db)).toEqual({ v: '2', dirty: false });
  });
});

describe('each migration as if it ran alone', () => {
  it('SET in one migration does not carry into the next', async () => {
    const db = await database('settings');
    const { dir } = await migrationsDir({
      '1_elsewhere.up.sql': "CREATE SCHEMA elsewhere;\nSET search_path = elsewhere;\nSET statement_timeout = '50ms';\nCREATE TABLE one (id int);",
      '2_here.up.sql': 'CREATE TABLE two (id int);\nSELECT pg_sleep(0.2);',
      '3_notx.up.sql': "-- tidemark:no-transaction\nSET search_path = elsewhere;\nCREATE TABLE three (id int);",
      '4_here.up.sql': 'CREATE TABLE four (id int);',
    });
    const result = await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    expect(result.code, result.stderr).toBe(0);
    const { rows } = await db.query("SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_name IN ('one', 'two', 'three', 'four') ORDER BY t");
    expect(rows.map((r) => r.t)).toEqual(['elsewhere.one', 'elsewhere.three', 'public.four', 'public.two']);
  });
});

describe('finding the failing line', () => {
  it('names the statement from the error, without running the file a second time', async () => {
    const db = await database('noreplay');
    const { dir } = await migrationsDir({
      '1_base.up.sql': 'CREATE SEQUENCE counter;\nCREATE TABLE existing (id int);',
      '2_dup.up.sql': "SELECT nextval('counter');\nCREATE TABLE fresh (id int);\n\nCREATE TABLE existing (id int);\n",
    });
    const result = await runCli('migrate', ['--dir', dir], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('relation "existing" already exists (SQLSTATE 42P07, line 4)');
    // nextval is not undone by a rollback: run twice, the counter would stand at 2.
    expect((await db.query('SELECT last_value::int AS v FROM counter')).rows[0].v).toBe(1);
  });
});

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    accepted++;
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => accepted,
    close: () => new Promise((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

describe('a server that never answers', () => {
  it.each([
    ['migrate', { TIDEMARK_CONNECT_TIMEOUT: '1s' }, '', 'within 1 s'],
    ['migrate:status', { TIDEMARK_CONNECT_TIMEOUT: '1s' }, '', 'within 1 s'],
    ['migrate:version', {}, '?connect_timeout=2', 'within 2 s'],
  ] as const)('%s gives up after the connect timeout with a coded error', async (target, env, query, within) => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const { dir } = await migrationsDir({ '1_a.up.sql': 'SELECT 1;' });
    const url = `postgres://u:pw@127.0.0.1:${silent.port}/db${query}`;
    const result = await runCli(target, ['--dir', dir], { env: { DATABASE_URL: url, ...env } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^DB_CONNECT_FAILED: cannot connect to the database/m);
    expect(result.stderr).toContain(`no answer from 127.0.0.1:${silent.port} ${within}`);
  });

  it('SIGTERM while connecting ends the run at once: nothing was changed', async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const { dir } = await migrationsDir({ '1_a.up.sql': 'SELECT 1;' });
    let stderr = '';
    const child = spawnCli('migrate', ['--dir', dir], { env: { DATABASE_URL: `postgres://u:pw@127.0.0.1:${silent.port}/db`, TIDEMARK_CONNECT_TIMEOUT: '60s' } });
    child.stderr!.on('data', (d) => (stderr += d));
    const done = collect(child);
    // The signal handlers are in place before the command connects.
    await waitFor(async () => silent.connections() > 0, 'the command to connect');
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code, result.stderr).toBe(143);
    expect(result.stderr).toContain('nothing was changed');
  });
});
