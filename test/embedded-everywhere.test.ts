import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { readEmbeddedUrl } from '../src/devdb-location.js';

/**
 * --embedded means the embedded database for every command that talks to a
 * database, even with DATABASE_URL naming another one: each command below
 * runs with both, and must leave its mark (or read) on the embedded one only.
 */
let project: string;
let other: TestDatabase;
let embeddedUrl: string;

const BACKFILL = `export const description = 'Touch nothing';
export async function count() { return 0; }
export async function batch() { return { next: null, rows: 0 }; }
`;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'tidemark-embedded-'));
  // As root the server runs as `postgres`, which must be able to reach the project like any other directory.
  await chmod(project, 0o755);
  const started = await runCli('db:start', [], { cwd: project });
  expect(started.code, started.stderr).toBe(0);
  embeddedUrl = readEmbeddedUrl(project)!;
  other = await createTestDatabase('embedded_other', inject('pgToolsUrl'));
  await other.query('CREATE TABLE only_in_other (id int)');
  await withEmbedded((c) => c.query('CREATE TABLE IF NOT EXISTS only_in_embedded (id int)'));
  await mkdir(path.join(project, 'backfills'));
  await mkdir(path.join(project, 'migrations'));
  await mkdir(path.join(project, 'backups'), { mode: 0o700 });
  await writeFile(path.join(project, 'backfills', 'touch_nothing.mjs'), BACKFILL);
}, 180_000);

afterAll(async () => {
  await other?.close();
  if (project) await runCli('db:stop', [], { cwd: project });
});

async function withEmbedded<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: embeddedUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function cli(target: string, args: string[], embedded = true): Promise<CliResult> {
  return runCli(target, embedded ? [...args, '--embedded'] : args, {
    cwd: project,
    env: { DATABASE_URL: other.url, BACKUP_DIR: path.join(project, 'backups'), PG_BIN_DIR: inject('pgToolsBinDir') },
  });
}

describe('--embedded with DATABASE_URL naming another database', () => {
  it('the test reaches the embedded database with the URL db:start printed', async () => {
    const { rows } = await withEmbedded((c) => c.query('SELECT current_database() AS name'));
    expect(rows[0].name).toBe('tidemark_dev');
  });

  it('db:query reads the embedded database', async () => {
    const result = await cli('db:query', ["SELECT current_database(), to_regclass('only_in_embedded') IS NOT NULL AS here, to_regclass('only_in_other') IS NOT NULL AS there", '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('tidemark_dev');
    expect(JSON.parse(result.stdout).rows[0]).toEqual({ current_database: 'tidemark_dev', here: true, there: false });
  });

  it('db:check checks the embedded database', async () => {
    const result = await cli('db:check', ['--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.database).toContain('tidemark_dev');
    expect(report.database).not.toContain(other.name);
  });

  // The machine has no pg_dump 18: the embedded server (PostgreSQL 18) cannot be dumped here, the other one (15) can.
  it('backup dumps the embedded database (refused here for its version), the other one only without --embedded', async () => {
    const embedded = await cli('backup:create', ['--json']);
    expect(embedded.code).toBe(1);
    const error = JSON.parse(embedded.stderr).error;
    expect(error.code).toBe('BACKUP_CLIENT_TOO_OLD');
    expect(error.error).toContain('the server is PostgreSQL 18');

    const plain = await cli('backup:create', ['--json'], false);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).manifest.database).toBe(other.name);
  });

  it('restore --new restores on the embedded server', async () => {
    const plain = await cli('backup:create', ['--json', '--tag', 'for-restore'], false);
    expect(plain.code, plain.stderr).toBe(0);
    const file = JSON.parse(plain.stdout).path;
    const restored = await cli('backup:restore', [file, '--new', 'embedded_copy', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const copies = await withEmbedded((c) => c.query(`SELECT 1 FROM pg_database WHERE datname = 'embedded_copy'`));
    expect(copies.rowCount).toBe(1);
    const elsewhere = await other.query(`SELECT 1 FROM pg_database WHERE datname = 'embedded_copy'`);
    expect(elsewhere.rowCount).toBe(0);
  });

  it('backfill runs against the embedded database', async () => {
    const result = await cli('backfill', ['touch_nothing']);
    expect(result.code, result.stderr).toBe(0);
    const runs = await withEmbedded((c) => c.query(`SELECT backfill FROM tidemark_backfill_runs`));
    expect(runs.rows.map((r) => r.backfill)).toContain('touch_nothing');
    const there = await other.query(`SELECT to_regclass('tidemark_backfill_runs') IS NOT NULL AS there`);
    expect(there.rows[0].there).toBe(false);
  });
});
