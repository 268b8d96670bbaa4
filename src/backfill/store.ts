/**
 * The backfills' own tables, beside the migrations table: a record of every
 * run, and one checkpoint per backfill and scope while a pass is unfinished.
 * A checkpoint is written in the same transaction as the batch it follows,
 * so that a killed run resumes exactly after its last committed batch.
 */
import pg from 'pg';
import type { BackfillCursor } from './contract.js';
import { withTransaction } from '../db/scoped.js';

const { escapeIdentifier, escapeLiteral } = pg;

export interface BackfillTables {
  /** Quoted, schema-qualified. */
  runs: string;
  checkpoints: string;
}

export function backfillTables(schema: string): BackfillTables {
  const q = (table: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
  return { runs: q('tidemark_backfill_runs'), checkpoints: q('tidemark_backfill_checkpoints') };
}

export type RunOutcome = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

function createSql(t: BackfillTables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.runs} (
  id bigserial PRIMARY KEY,
  backfill text NOT NULL,
  scope jsonb NOT NULL,
  scope_key text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('running', 'completed', 'stopped', 'failed', 'interrupted')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  duration_ms double precision,
  row_count bigint NOT NULL DEFAULT 0,
  batches bigint NOT NULL DEFAULT 0,
  batch_size integer NOT NULL,
  resumed_after jsonb,
  error text,
  db_user text NOT NULL DEFAULT current_user,
  os_user text,
  client_host text,
  application text DEFAULT current_setting('application_name')
);
CREATE INDEX IF NOT EXISTS tidemark_backfill_runs_backfill_idx ON ${t.runs} (backfill, started_at DESC);
CREATE TABLE IF NOT EXISTS ${t.checkpoints} (
  backfill text NOT NULL,
  scope_key text NOT NULL,
  cursor jsonb,
  rows_done bigint NOT NULL DEFAULT 0,
  batches bigint NOT NULL DEFAULT 0,
  run_id bigint NOT NULL,
  run_rows bigint NOT NULL DEFAULT 0,
  run_batches bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (backfill, scope_key)
)`;
}

export async function backfillTablesExist(client: pg.ClientBase, t: BackfillTables): Promise<boolean> {
  const { rows } = await client.query({ text: 'SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL', values: [t.runs, t.checkpoints], rowMode: 'array' });
  return rows[0][0] === true;
}

/** Creates the tables once; a transaction lock keeps two first runs from racing on CREATE TABLE. */
export async function ensureBackfillTables(client: pg.ClientBase, t: BackfillTables): Promise<void> {
  if (await backfillTablesExist(client, t)) return;
  // The two-key form lives apart from the one-key locks of migrations and runs.
  await client.query(`BEGIN; SELECT pg_advisory_xact_lock(0, hashtext('tidemark backfill tables')); ${createSql(t)}; COMMIT`);
}

export interface Checkpoint {
  cursor: BackfillCursor | null;
  rowsDone: number;
  batches: number;
  updatedAt: Date;
}

export async function readCheckpoint(client: pg.ClientBase, t: BackfillTables, backfill: string, key: string): Promise<Checkpoint | undefined> {
  const { rows } = await client.query({
    text: `SELECT cursor, rows_done, batches, updated_at FROM ${t.checkpoints} WHERE backfill = $1 AND scope_key = $2`,
    values: [backfill, key],
    rowMode: 'array',
  });
  if (!rows.length) return undefined;
  return { cursor: rows[0][0], rowsDone: Number(rows[0][1]), batches: Number(rows[0][2]), updatedAt: rows[0][3] };
}

export interface RunIdentity {
  backfill: string;
  scope: Record<string, string>;
  scopeKey: string;
  batchSize: number;
  osUser: string | null;
  clientHost: string | null;
}

// Run rows still `running` belong to processes that died: their rows and end come from their checkpoint.
const markInterruptedSql = (t: BackfillTables) => `WITH c AS (
  SELECT run_id, run_rows, run_batches, updated_at FROM ${t.checkpoints} WHERE backfill = $1 AND scope_key = $2
)
UPDATE ${t.runs} r
   SET outcome = 'interrupted',
       row_count = coalesce((SELECT run_rows FROM c WHERE c.run_id = r.id), r.row_count),
       batches = coalesce((SELECT run_batches FROM c WHERE c.run_id = r.id), r.batches),
       finished_at = (SELECT updated_at FROM c WHERE c.run_id = r.id),
       duration_ms = extract(epoch FROM (SELECT updated_at FROM c WHERE c.run_id = r.id) - r.started_at) * 1000
 WHERE r.backfill = $1 AND r.scope_key = $2 AND r.outcome = 'running'`;

/**
 * Opens a run under the backfill's lock: runs left `running` by a killed
 * process become `interrupted`, the checkpoint is kept (resume) or dropped
 * (`restart`), and the new run is recorded. One transaction.
 */
export async function startRun(client: pg.ClientBase, t: BackfillTables, run: RunIdentity, restart: boolean): Promise<{ runId: string; resumed?: Checkpoint }> {
  return withTransaction(client, async () => {
    await client.query(markInterruptedSql(t), [run.backfill, run.scopeKey]);
    if (restart) await client.query(`DELETE FROM ${t.checkpoints} WHERE backfill = $1 AND scope_key = $2`, [run.backfill, run.scopeKey]);
    const previous = await readCheckpoint(client, t, run.backfill, run.scopeKey);
    // A checkpoint without a cursor is a pass that never finished a batch: nothing to resume.
    const resumed = previous?.cursor !== null ? previous : undefined;
    const { rows } = await client.query({
      text: `INSERT INTO ${t.runs} (backfill, scope, scope_key, outcome, batch_size, resumed_after, os_user, client_host)
             VALUES ($1, $2, $3, 'running', $4, $5, $6, $7) RETURNING id`,
      values: [run.backfill, JSON.stringify(run.scope), run.scopeKey, run.batchSize, resumed ? JSON.stringify(resumed.cursor) : null, run.osUser, run.clientHost],
      rowMode: 'array',
    });
    const runId = String(rows[0][0]);
    await client.query(`INSERT INTO ${t.checkpoints} (backfill, scope_key, cursor, run_id) VALUES ($1, $2, NULL, $3)
                        ON CONFLICT (backfill, scope_key) DO UPDATE SET run_id = EXCLUDED.run_id, run_rows = 0, run_batches = 0, updated_at = now()`,
    [run.backfill, run.scopeKey, runId]);
    return { runId, resumed };
  });
}

export interface RunKey {
  backfill: string;
  scopeKey: string;
  runId: string;
}

export interface RunTotals {
  rows: number;
  batches: number;
  durationMs: number;
}

const checkpointWhere = (run: RunKey) => `backfill = ${escapeLiteral(run.backfill)} AND scope_key = ${escapeLiteral(run.scopeKey)}`;

/**
 * Ends a batch's transaction: the checkpoint moves past it and COMMIT, as
 * one simple query, so that a batch costs the runner a single round trip
 * besides BEGIN. Literals are escaped; the numbers are the runner's own.
 */
export function checkpointSql(t: BackfillTables, run: RunKey, cursor: BackfillCursor, rows: number): string {
  return `UPDATE ${t.checkpoints} SET cursor = ${escapeLiteral(JSON.stringify(cursor))}::jsonb,
  rows_done = rows_done + ${rows}, batches = batches + 1, run_rows = run_rows + ${rows}, run_batches = run_batches + 1, updated_at = now()
WHERE ${checkpointWhere(run)};
COMMIT`;
}

/**
 * Ends the last batch's transaction: the pass is complete, the checkpoint
 * goes and the run is recorded with it. Batches commit asynchronously; this
 * commit is waited for, so that a run reported complete stays complete.
 */
export function completionSql(t: BackfillTables, run: RunKey, totals: RunTotals): string {
  return `SET LOCAL synchronous_commit = on;
DELETE FROM ${t.checkpoints} WHERE ${checkpointWhere(run)};
UPDATE ${t.runs} SET outcome = 'completed', finished_at = now(), duration_ms = ${totals.durationMs.toFixed(3)},
  row_count = ${totals.rows}, batches = ${totals.batches}
WHERE id = ${escapeLiteral(run.runId)}::bigint;
COMMIT`;
}

/** Records a run that stopped on request or failed; its checkpoint stays for the next run. */
export async function endRun(client: pg.ClientBase, t: BackfillTables, runId: string, outcome: 'stopped' | 'failed', totals: RunTotals, error?: string): Promise<void> {
  await client.query(
    `UPDATE ${t.runs} SET outcome = $2, finished_at = now(), duration_ms = $3, row_count = $4, batches = $5, error = $6 WHERE id = $1`,
    [runId, outcome, totals.durationMs, totals.rows, totals.batches, error ?? null],
  );
}

export interface RunRecord {
  id: string;
  backfill: string;
  scope: Record<string, string>;
  outcome: RunOutcome;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  rows: number;
  batches: number;
  error: string | null;
  dbUser: string;
  osUser: string | null;
  clientHost: string | null;
}

/** The latest run of each backfill, whatever its scope. */
export async function lastRuns(client: pg.ClientBase, t: BackfillTables): Promise<RunRecord[]> {
  const { rows } = await client.query({
    text: `SELECT DISTINCT ON (backfill) id, backfill, scope, outcome, started_at, finished_at, duration_ms, row_count, batches, error, db_user, os_user, client_host
             FROM ${t.runs} ORDER BY backfill, started_at DESC, id DESC`,
    rowMode: 'array',
  });
  return rows.map(([id, backfill, scope, outcome, startedAt, finishedAt, durationMs, rowCount, batches, error, dbUser, osUser, clientHost]) => ({
    id: String(id), backfill, scope, outcome, startedAt, finishedAt, durationMs, rows: Number(rowCount), batches: Number(batches), error, dbUser, osUser, clientHost,
  }));
}
