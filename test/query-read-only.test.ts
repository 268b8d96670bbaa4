import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings, runQuery, TidemarkError } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase('query_ro');
  await db.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)');
  await db.query('INSERT INTO t VALUES (1, 1)');
  await db.query('CREATE SEQUENCE s');
  // A user's function that writes: the parser cannot see inside it.
  await db.query('CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS $$ UPDATE t SET v = v + 1 RETURNING v $$');
  // The server runs as another OS user: it must be able to write here for the attacks to show.
  dir = mkdtempSync(path.join(tmpdir(), 'tidemark-query-'));
  chmodSync(dir, 0o777);
});
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli('db:query', args, { env: { DATABASE_URL: db.url } });
const valueOfRow1 = async () => (await db.query('SELECT v FROM t WHERE id = 1')).rows[0].v as number;

describe('db:query refuses what is not a read-only query, before running anything', () => {
  it('COPY … TO PROGRAM runs no program on the server', async () => {
    const marker = path.join(dir, 'program-ran');
    const result = await cli([`COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`]);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^QUERY_READ_ONLY: /);
    expect(result.stderr).toContain('COPY … TO PROGRAM runs a program on the database server');
    expect(result.stderr).toContain('hint: nothing was run; if this is intended, run it again with --write');
    expect(existsSync(marker)).toBe(false);
  });

  it('COPY … TO a file writes no file on the server', async () => {
    const file = path.join(dir, 'copied.txt');
    const result = await cli([`COPY t TO '${file}'`]);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toContain('COPY … TO a file writes a file on the database server');
    expect(existsSync(file)).toBe(false);
  });

  it('pg_terminate_backend, in any spelling, kills no session', async () => {
    const victim = new pg.Client({ connectionString: db.url });
    // Before the fix the victim was killed: its error must fail the assertion below, not crash the run.
    victim.on('error', () => undefined);
    await victim.connect();
    try {
      const pid = (victim as unknown as { processID: number }).processID;
      for (const sql of [`SELECT pg_terminate_backend(${pid})`, `SELECT PG_CATALOG.PG_TERMINATE_BACKEND(${pid})`, `SELECT 1 FROM t WHERE pg_catalog.pg_terminate_backend(${pid})`]) {
        const result = await cli([sql]);
        expect(result.code, `${sql}\n${result.stdout}`).toBe(1);
        expect(result.stderr).toMatch(/^QUERY_READ_ONLY: [^]*pg_terminate_backend\(\) signals another server process/);
      }
      expect((await victim.query('SELECT 1 AS alive')).rows[0].alive).toBe(1);
    } finally {
      await victim.end();
    }
  });

  it('pg_reload_conf is refused', async () => {
    const result = await cli(['SELECT pg_reload_conf()']);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('pg_reload_conf() changes the server\'s configuration or state');
  });
});

describe('db:query runs read-only queries, with the read-only transaction behind the check', () => {
  it('runs SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN and informational functions', async () => {
    expect(JSON.parse((await cli(['--json', 'TABLE t'])).stdout)).toEqual({ command: 'SELECT', rowCount: 1, columns: ['id', 'v'], rows: [{ id: 1, v: 1 }] });
    expect((await cli(['--csv', 'WITH a AS (SELECT v FROM t) SELECT v * 2 AS d FROM a'])).stdout).toBe('d\n2\n');
    expect((await cli(['--csv', 'VALUES (1), (2)'])).stdout).toBe('column1\n1\n2\n');
    expect((await cli(['--csv', 'SHOW server_encoding'])).stdout).toBe('server_encoding\nUTF8\n');
    expect((await cli(['--csv', 'EXPLAIN (COSTS off) SELECT * FROM t WHERE id = 1'])).stdout).toMatch(/^QUERY PLAN\n.*Scan/);
    const sized = await cli(['--json', "SELECT pg_size_pretty(pg_total_relation_size('t')) AS size, pg_typeof(1)::text AS type, pg_backend_pid() > 0 AS pid"]);
    expect(sized.code, sized.stderr).toBe(0);
    expect(JSON.parse(sized.stdout).rows[0]).toMatchObject({ size: expect.stringMatching(/^\d+ kB$/), type: 'integer', pid: true });
  });

  it('a user function that writes is stopped by the read-only transaction', async () => {
    const result = await cli(['SELECT bump()']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^QUERY_READ_ONLY: the statement writes, and queries are read-only\n {2}operation: run the query in a read-only transaction\n {2}error: cannot execute UPDATE in a read-only transaction \(SQLSTATE 25006\)/);
    expect(await valueOfRow1()).toBe(1);
  });

  it('a syntax error is reported with its position, and nothing is sent', async () => {
    const result = await cli(['SELECT 1,\n  FROM t']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe([
      'QUERY_FAILED: the query failed',
      '  operation: check the statement before running it read-only',
      '  error: syntax error at or near "FROM" (line 2)',
      '        FROM t',
      '        ^',
      '  hint: nothing was run: a read-only query runs only once the PostgreSQL parser built into tidemark accepts it; with --write the server parses it itself',
      '',
    ].join('\n'));
  });

  it('--write runs the statement as it is', async () => {
    const file = path.join(dir, 'written.txt');
    const result = await cli(['--write', `COPY (SELECT 'hello') TO '${file}'`]);
    expect(result).toMatchObject({ code: 0, stdout: 'COPY 1\n' });
    expect(existsSync(file)).toBe(true);
    expect((await cli(['--write', "SELECT nextval('s')"])).stdout).toContain('1');
  });

  it('the API refuses with a coded error that names what it refused', async () => {
    const settings = loadSettings({ env: { DATABASE_URL: db.url } });
    const err = await runQuery(settings, "SELECT lo_import('/etc/passwd')").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TidemarkError);
    expect(err).toMatchObject({
      code: 'QUERY_READ_ONLY', exitCode: 1, reason: 'lo_import() reads or writes large objects',
      hint: 'nothing was run; if this is intended, run it again with --write', data: { refused: 'lo_import()' },
    });
    expect(await runQuery(settings, "SELECT pg_get_userbyid(10) IS NOT NULL AS known")).toMatchObject({ command: 'SELECT', rows: [['t']], readOnly: true });
  });
});

/** The backend running the statement marked with `marker`, once it runs (and, when asked, has written: it holds a transaction ID). */
const backendRunning = (marker: string, written = false) => waitFor(async () => {
  const { rows } = await db.query(
    `SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()${written ? ' AND backend_xid IS NOT NULL' : ''}`,
    [`%${marker}%`],
  );
  return rows[0]?.pid as number | undefined;
}, `the statement ${marker} to run`);

const backendGone = (pid: number) => waitFor(async () => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, `backend ${pid} to end`);

async function interruptCli(args: string[], marker: string, signal: NodeJS.Signals, written = false) {
  const child = spawnCli('db:query', args, { env: { DATABASE_URL: db.url } });
  const done = collect(child);
  const pid = await backendRunning(marker, written);
  child.kill(signal);
  const result = await done;
  await backendGone(pid);
  return result;
}

describe('Ctrl-C cancels the statement on the server', () => {
  // RETURNING runs after the row is updated: the cancel hits a statement that has written.
  const update = (marker: string) => `UPDATE t SET v = 2 WHERE id = 1 RETURNING v, pg_sleep(30) /* ${marker} */`;

  it('--write: SIGINT cancels and rolls back the statement, exit 130', async () => {
    const result = await interruptCli(['--write', update('int-write')], 'int-write', 'SIGINT', true);
    expect(result.code).toBe(130);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe([
      'SIGINT: cancelling the statement on the server (send it again to exit at once)',
      'INTERRUPTED: interrupted by SIGINT',
      '  operation: run the query',
      '  error: interrupted: the statement was cancelled on the server and rolled back; nothing was changed',
      '',
    ].join('\n'));
    expect(await valueOfRow1()).toBe(1);
  });

  it('--write: SIGTERM does the same, exit 143', async () => {
    const result = await interruptCli(['--write', '--json', update('term-write')], 'term-write', 'SIGTERM', true);
    expect(result.code).toBe(143);
    const [first, ...json] = result.stderr.split('\n');
    expect(first).toBe('SIGTERM: cancelling the statement on the server (send it again to exit at once)');
    expect(JSON.parse(json.join('\n')).error).toEqual({
      code: 'INTERRUPTED', message: 'interrupted by SIGTERM', operation: 'run the query',
      error: 'interrupted: the statement was cancelled on the server and rolled back; nothing was changed', details: { signal: 'SIGTERM' },
    });
    expect(await valueOfRow1()).toBe(1);
  });

  it('read-only: SIGINT cancels the query, exit 130', async () => {
    const result = await interruptCli(['SELECT pg_sleep(30) /* int-read */'], 'int-read', 'SIGINT');
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('  error: interrupted: the statement was cancelled; nothing was changed\n');
  });

  it('the API takes an AbortSignal', async () => {
    const controller = new AbortController();
    const running = runQuery(loadSettings({ env: { DATABASE_URL: db.url } }), update('api-abort'), { write: true, signal: controller.signal }).catch((e: unknown) => e);
    const pid = await backendRunning('api-abort', true);
    controller.abort('SIGTERM');
    expect(await running).toMatchObject({ code: 'INTERRUPTED', exitCode: 143, data: { signal: 'SIGTERM' } });
    await backendGone(pid);
    expect(await valueOfRow1()).toBe(1);
    const early = await runQuery(loadSettings({ env: { DATABASE_URL: db.url } }), 'SELECT 1', { signal: AbortSignal.abort('SIGINT') }).catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'INTERRUPTED', exitCode: 130, reason: 'interrupted: the statement was not sent; nothing was changed' });
  });
});

interface Proxy {
  url: string;
  /** Connections the proxy has seen end (the cancel request's ends at once). */
  closed(): number;
  /** Lets held replies through. */
  release(): void;
  close(): void;
}

/**
 * A real TCP proxy to the test server. `dropCancel`: connections after the
 * first are accepted and never forwarded (a cancel request that is lost).
 * `holdRepliesAfter`: once a client sends text containing it, the server's
 * replies on that connection wait for release().
 */
async function startProxy(options: { dropCancel?: boolean; holdRepliesAfter?: string }): Promise<Proxy> {
  const target = new URL(db.url);
  const sockets = new Set<net.Socket>();
  const releases: (() => void)[] = [];
  let count = 0;
  let closed = 0;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => closed++);
    client.on('error', () => undefined);
    if (count++ > 0 && options.dropCancel) return;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => undefined);
    let holding = false;
    const held: Buffer[] = [];
    client.on('data', (data: Buffer) => {
      if (options.holdRepliesAfter && data.includes(options.holdRepliesAfter)) holding = true;
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => (holding ? held.push(data) : client.write(data)));
    releases.push(() => {
      holding = false;
      for (const data of held.splice(0)) client.write(data);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(db.url);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    closed: () => closed,
    release: () => releases.forEach((release) => release()),
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('when the cancel cannot work', () => {
  it('a server that does not answer the cancel: the connection is cut after 5 s', async () => {
    const proxy = await startProxy({ dropCancel: true });
    let pid: number | undefined;
    try {
      const controller = new AbortController();
      const running = runQuery(loadSettings({ env: { DATABASE_URL: proxy.url } }), 'SELECT pg_sleep(60) /* lost-cancel */', { signal: controller.signal }).catch((e: unknown) => e);
      pid = await backendRunning('lost-cancel');
      controller.abort('SIGINT');
      expect(await running).toMatchObject({
        code: 'INTERRUPTED', exitCode: 130,
        reason: 'interrupted: the server did not end the statement within 5 s of the cancel request, so the connection was closed; '
          + 'the statement ran in a read-only transaction: nothing was changed',
      });
    } finally {
      proxy.close();
      // The server never heard of the cancel: its backend sleeps on until stopped here.
      if (pid) await db.query('SELECT pg_terminate_backend($1)', [pid]);
    }
  });

  it('a statement that completed before the cancel reached it: the result stands, exit 0', async () => {
    const proxy = await startProxy({ holdRepliesAfter: 'late-cancel' });
    try {
      const child = spawnCli('db:query', ['--write', 'UPDATE t SET v = 7 WHERE id = 1 /* late-cancel */'], { env: { DATABASE_URL: proxy.url } });
      const done = collect(child);
      // Committed on the server; its reply is held in the proxy.
      await waitFor(async () => (await valueOfRow1()) === 7, 'the update to commit');
      child.kill('SIGINT');
      // The cancel request has been delivered, to a server with nothing to cancel.
      await waitFor(async () => proxy.closed() > 0, 'the cancel request to be delivered');
      proxy.release();
      const result = await done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('UPDATE 1\n');
      expect(result.stderr).toBe([
        'SIGINT: cancelling the statement on the server (send it again to exit at once)',
        'the statement had already completed (its change is committed); nothing was cancelled',
        '',
      ].join('\n'));
    } finally {
      proxy.close();
      await db.query('UPDATE t SET v = 1 WHERE id = 1');
    }
  });
});
