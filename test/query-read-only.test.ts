import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings, runQuery, TidemarkError } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runCli } from './helpers/cli.js';

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
