import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, collect, runCli, spawnCli } from './helpers/cli.js';
import { quoteBash } from './helpers/go-task.js';
import { DEMO_DIR } from './helpers/migrations.js';
import { waitFor } from './helpers/wait.js';

/**
 * The example backfill (backfills/objects_sha256_lowercase.ts) over 100,000
 * objects in 10 repositories, 10,000 each, every digest in upper case. A
 * statement trigger logs every changed id, so that "each row exactly once"
 * can be counted.
 */
const ROWS = 100_000;
const SEED = `
INSERT INTO users (handle, email) SELECT 'user' || i, 'user' || i || '@example.com' FROM generate_series(1, 10) i;
INSERT INTO repos (owner_id, name) SELECT i, 'repo' || i FROM generate_series(1, 10) i;
INSERT INTO objects (repo_id, path, sha256, size_bytes)
SELECT 1 + (i % 10), 'src/file_' || i || '.txt', upper(encode(sha256(i::text::bytea), 'hex')), i FROM generate_series(1, ${ROWS}) i;
CREATE TABLE touched (id bigint NOT NULL);
CREATE FUNCTION log_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO touched SELECT id FROM changed;
  RETURN NULL;
END;
$$;
CREATE TRIGGER objects_touched AFTER UPDATE ON objects REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_touched();
`;
const NAME = 'objects_sha256_lowercase';
const execFileAsync = promisify(execFile);

let seed: TestDatabase;
const open: TestDatabase[] = [];

beforeAll(async () => {
  seed = await createTestDatabase('backfill_seed');
  const migrated = await runCli('migrate', ['--dir', DEMO_DIR], { env: { DATABASE_URL: seed.url } });
  expect(migrated.code, migrated.stderr).toBe(0);
  await seed.query(SEED);
  await seed.query('VACUUM ANALYZE objects');
  await seed.release();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});
afterAll(() => seed.close());

async function fresh(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label, undefined, { template: seed.name });
  open.push(db);
  return db;
}

const backfill = (db: TestDatabase, args: string[] = []) => runCli('backfill', [NAME, ...args], { env: { DATABASE_URL: db.url } });
const startBackfill = (db: TestDatabase, args: string[] = []) => spawnCli('backfill', [NAME, ...args], { env: { DATABASE_URL: db.url } });

async function one<T = number>(db: TestDatabase, sql: string): Promise<T> {
  const { rows } = await db.query(sql);
  return Object.values(rows[0])[0] as T;
}

const upperCount = (db: TestDatabase, where = 'true') => one(db, `SELECT count(*)::int FROM objects WHERE sha256 <> lower(sha256) AND ${where}`);
const touched = (db: TestDatabase) => one<{ rows: number; ids: number }>(db, 'SELECT json_build_object(\'rows\', count(*), \'ids\', count(DISTINCT id)) FROM touched');
const runs = async (db: TestDatabase) => (await db.query('SELECT outcome, row_count::int AS rows, scope, resumed_after FROM tidemark_backfill_runs ORDER BY id')).rows;

describe('the example backfill over 100,000 rows', () => {
  it('--dry-run reports the rows it would change and writes nothing', async () => {
    const db = await fresh('bf_dry');
    const text = await backfill(db, ['--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(`Dry run: backfill ${NAME} (all rows) would change 100,000 rows; nothing was changed.\n`);
    const scoped = await backfill(db, ['--dry-run', '--scope', 'repo_id=3', '--json']);
    expect(JSON.parse(scoped.stdout)).toMatchObject({ backfill: NAME, outcome: 'dry-run', count: 10_000, rows: 0, scope: { repo_id: '3' } });
    expect(await upperCount(db)).toBe(ROWS);
    expect(await touched(db)).toEqual({ rows: 0, ids: 0 });
    expect(await one(db, "SELECT to_regclass('tidemark_backfill_runs') IS NULL AND to_regclass('tidemark_backfill_checkpoints') IS NULL")).toBe(true);
  });

  it('a scoped run changes only that scope, and records the run', async () => {
    const db = await fresh('bf_scope');
    const result = await backfill(db, ['--scope', 'repo_id=3']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Completed backfill ${NAME} (scope repo_id=3): 10,000 rows in 11 batches`);
    expect(await upperCount(db, 'repo_id = 3')).toBe(0);
    expect(await upperCount(db, 'repo_id <> 3')).toBe(90_000);
    expect(await touched(db)).toEqual({ rows: 10_000, ids: 10_000 });
    expect(await one(db, 'SELECT count(*)::int FROM touched JOIN objects USING (id) WHERE repo_id <> 3')).toBe(0);
    expect(await runs(db)).toEqual([{ outcome: 'completed', rows: 10_000, scope: { repo_id: '3' }, resumed_after: null }]);
    expect(await one(db, 'SELECT count(*)::int FROM tidemark_backfill_checkpoints')).toBe(0);
  });

  it('a run killed with SIGKILL midway resumes, and every row is changed exactly once; a second run changes nothing', async () => {
    const db = await fresh('bf_kill');
    // A row in the 51st batch is locked, so the run is certainly midway when it is killed.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('BEGIN; SELECT 1 FROM objects WHERE id = 50500 FOR UPDATE');
    const child = startBackfill(db, ['--batch-lock-timeout', '60s']);
    const exited = collect(child);
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark' AND wait_event_type = 'Lock'")).rowCount, 'the backfill to block');
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    await blocker.query('ROLLBACK');
    await blocker.end();
    // The killed process's server session ends once its blocked statement finishes; with it go its locks.
    await waitFor(async () => !(await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidemark'")).rowCount, 'the killed session to end');
    expect(await one(db, 'SELECT json_build_object(\'cursor\', cursor, \'rows\', rows_done) FROM tidemark_backfill_checkpoints')).toEqual({ cursor: '50000', rows: 50_000 });
    expect(await touched(db)).toEqual({ rows: 50_000, ids: 50_000 });

    const resumed = await backfill(db);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming after cursor "50000" (50,000 rows done before)');
    expect(resumed.stdout).toContain('Completed backfill objects_sha256_lowercase (all rows): 50,000 rows');
    expect(await upperCount(db)).toBe(0);
    expect(await touched(db)).toEqual({ rows: ROWS, ids: ROWS });
    expect(await runs(db)).toEqual([
      { outcome: 'interrupted', rows: 50_000, scope: {}, resumed_after: null },
      { outcome: 'completed', rows: 50_000, scope: {}, resumed_after: '50000' },
    ]);

    const again = await backfill(db);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(': 0 rows in 1 batch,');
    expect(await touched(db)).toEqual({ rows: ROWS, ids: ROWS });
    expect((await runs(db)).at(-1)).toEqual({ outcome: 'completed', rows: 0, scope: {}, resumed_after: null });
  });

  it('a second run of the same scope is refused while one runs; SIGTERM stops the first after its batch', async () => {
    const db = await fresh('bf_lock');
    const first = startBackfill(db, ['--sleep', '600000']);
    const firstDone = collect(first);
    await waitFor(async () => (await one(db, "SELECT to_regclass('tidemark_backfill_checkpoints') IS NOT NULL"))
      && (await db.query('SELECT 1 FROM tidemark_backfill_checkpoints WHERE rows_done = 1000')).rowCount, 'the first batch');
    const second = await backfill(db);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^BACKFILL_LOCKED: the backfill is already running\n {2}operation: run backfill objects_sha256_lowercase \(all rows\)\n {2}error: .*held by pid \d+ \("tidemark"/);
    expect(await touched(db)).toEqual({ rows: 1000, ids: 1000 });
    const otherScope = await backfill(db, ['--scope', 'repo_id=5', '-q']);
    expect(otherScope.code, otherScope.stderr).toBe(0);

    first.kill('SIGTERM');
    const stopped = await firstDone;
    expect(stopped.code).toBe(143);
    expect(stopped.stdout).toContain('Stopped backfill objects_sha256_lowercase (all rows): 1,000 rows in 1 batch');
    expect(stopped.stderr).toContain('SIGTERM: stopping after the batch in flight');
    const finished = await backfill(db, ['-q']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(await upperCount(db)).toBe(0);
    expect(await touched(db)).toEqual({ rows: ROWS, ids: ROWS });
    expect((await runs(db)).map((r) => [r.outcome, r.rows])).toEqual([['stopped', 1000], ['completed', 10_000 - 100], ['completed', ROWS - 1000 - 9_900]]);
  });

  it('on a terminal, progress is a bar redrawn in place with rows, rate and ETA', async () => {
    const db = await fresh('bf_tty');
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const command = [process.execPath, path.join(ROOT, 'dist/tasks/backfill.js'), NAME, '--batch-size', '5000'].map(quoteBash).join(' ');
    const { stdout } = await execFileAsync('script', ['-qec', command, '/dev/null'], { env: { ...process.env, DATABASE_URL: db.url } });
    expect(stdout).toMatch(/\r\[#{24}\] 100,000\/100,000 rows \(100%\), [\d,]+ rows\/s, ETA 0:00\x1b\[K/);
    expect(stdout).toContain(`Completed backfill ${NAME} (all rows): 100,000 rows in 21 batches`);
    expect(await upperCount(db)).toBe(0);
  });

  it('-q prints nothing; without a terminal, progress is plain lines at each tenth', async () => {
    const quiet = await fresh('bf_quiet');
    const silent = await backfill(quiet, ['-q']);
    expect(silent).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await upperCount(quiet)).toBe(0);

    const db = await fresh('bf_lines');
    const result = await backfill(db, ['--batch-size', '2500']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/[\r\x1b]/);
    const lines = result.stdout.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(`Backfill ${NAME} (all rows): 100,000 rows to change`);
    const progress = lines.filter((l) => l.startsWith('  '));
    expect(progress.map((l) => l.match(/^ {2}([\d,]+)\/100,000 rows \((\d+)%\), [\d,]+ rows\/s, ETA \d+:\d\d$/)?.[2])).toEqual(
      expect.arrayContaining(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']));
    expect(lines.at(-2)).toMatch(new RegExp(`^Completed backfill ${NAME} \\(all rows\\): 100,000 rows in 41 batches, `));
  });
});
