/**
 * The batch loop: one transaction per batch, the module's SQL, then the
 * checkpoint and COMMIT in one round trip. Lock timeouts, serialization
 * failures and deadlocks are retried a few times; anything else ends the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { TidemarkError } from '../errors.js';
import { isPgError } from '../pg-errors.js';
import { batchResultProblem, countValue, type Backfill, type BackfillContext, type BackfillCursor } from './contract.js';
import { checkpointSql, completionSql, type BackfillTables, type Checkpoint, type RunKey } from './store.js';
import type { Scope } from './scope.js';

export type BackfillEvent =
  | { type: 'started'; backfill: string; scope: Scope; runId: string; total: number | null; resumed: Checkpoint | null }
  | { type: 'batch'; rows: number; runRows: number; batches: number; elapsedMs: number; total: number | null; cursor: BackfillCursor | null }
  | { type: 'retry'; attempt: number; reason: string; delayMs: number };

/** A run in progress: what the loop needs, and how far it got. */
export interface ActiveRun {
  client: pg.ClientBase;
  backfill: Backfill;
  ctx: BackfillContext;
  tables: BackfillTables;
  key: RunKey;
  cursor: BackfillCursor | null;
  rows: number;
  batches: number;
  startedAt: number;
  total: number | null;
  sleepMs: number;
  signal?: AbortSignal;
  onEvent?: (event: BackfillEvent) => void;
}

// lock_not_available (lock_timeout), serialization_failure, deadlock_detected: worth another try.
const RETRYABLE = new Set(['55P03', '40001', '40P01']);
const MAX_RETRIES = 3;

export const elapsedMs = (run: ActiveRun): number => performance.now() - run.startedAt;

/** Waits, or returns false at once when the run is asked to stop. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (ms > 0) await sleep(ms, undefined, { signal }).catch(() => undefined);
  return !signal?.aborted;
}

async function runOneBatch(run: ActiveRun): Promise<{ rows: number; next: BackfillCursor | null }> {
  await run.client.query('BEGIN');
  try {
    const result = await run.backfill.batch(run.ctx, run.cursor);
    const problem = batchResultProblem(result, run.cursor);
    if (problem) throw new TidemarkError('BACKFILL_FAILED', 'the batch broke the backfill contract', { operation: `batch of backfill ${run.backfill.name}`, cause: problem });
    const rows = countValue(result.rows)!;
    const ending = result.next === null
      ? completionSql(run.tables, run.key, { rows: run.rows + rows, batches: run.batches + 1, durationMs: elapsedMs(run) })
      : checkpointSql(run.tables, run.key, result.next, rows);
    await run.client.query(ending);
    return { rows, next: result.next };
  } catch (err) {
    await run.client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function batchWithRetries(run: ActiveRun): Promise<{ rows: number; next: BackfillCursor | null } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOneBatch(run);
    } catch (err) {
      if (!isPgError(err) || !RETRYABLE.has(err.code!) || attempt > MAX_RETRIES) throw err;
      const delayMs = 100 * 2 ** attempt;
      run.onEvent?.({ type: 'retry', attempt, reason: err.message, delayMs });
      if (!(await pause(delayMs, run.signal))) return undefined;
    }
  }
}

/** Runs batches until the keyset is exhausted, or until asked to stop between two batches. */
export async function runBatches(run: ActiveRun): Promise<'completed' | 'stopped'> {
  for (;;) {
    if (run.signal?.aborted) return 'stopped';
    const result = await batchWithRetries(run);
    if (!result) return 'stopped';
    run.rows += result.rows;
    run.batches += 1;
    run.cursor = result.next;
    run.onEvent?.({ type: 'batch', rows: result.rows, runRows: run.rows, batches: run.batches, elapsedMs: elapsedMs(run), total: run.total, cursor: result.next });
    if (result.next === null) return 'completed';
    if (!(await pause(run.sleepMs, run.signal))) return 'stopped';
  }
}
