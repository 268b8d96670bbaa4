import { hostname, userInfo } from 'node:os';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Settings } from '../config.js';
import { TidemarkError, describeCause, isTidemarkError } from '../errors.js';
import { describePgError, isPgError } from '../pg-errors.js';
import { withAdvisoryLock, withClient } from '../db/scoped.js';
import { migrationsSchema, noSchemaError } from '../db/schema.js';
import { describeHolder, findLockHolder } from '../migrate/state/lock.js';
import { countValue, type Backfill, type BackfillContext } from './contract.js';
import { loadBackfill } from './loader.js';
import { backfillLockKey, checkScopeKeys, describeScope, scopeKey, type Scope } from './scope.js';
import { backfillTables, backfillTablesExist, endRun, ensureBackfillTables, readCheckpoint, startRun, type BackfillTables, type Checkpoint } from './store.js';
import { elapsedMs, runBatches, type ActiveRun, type BackfillEvent } from './batches.js';

export interface BackfillOptions {
  /** `--scope KEY=VALUE` pairs; each key must be one the backfill declares. */
  scope?: Scope;
  /** Rows per batch (default 1000). */
  batchSize?: number;
  /** Pause between batches, in milliseconds. */
  sleepMs?: number;
  /** Count the rows it would change, and change nothing. */
  dryRun?: boolean;
  /** Drop the checkpoint of an unfinished pass and begin again. */
  restart?: boolean;
  /** Count the rows first, for progress and ETA (one more scan). */
  estimate?: boolean;
  /** Aborting stops the run after the batch in flight. */
  signal?: AbortSignal;
  onEvent?: (event: BackfillEvent) => void;
}

export interface BackfillReport {
  backfill: string;
  description: string;
  scope: Scope;
  outcome: 'completed' | 'stopped' | 'dry-run';
  /** With dryRun: the rows it would change now. */
  count?: number;
  rows: number;
  batches: number;
  durationMs: number;
  runId?: string;
  /** The unfinished pass this run continued (or, with dryRun, would continue). */
  resumed?: Checkpoint;
}

export const DEFAULT_BATCH_SIZE = 1000;

function usage(cause: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid arguments', { operation: 'read the backfill options', cause });
}

async function storeSchema(client: pg.ClientBase, settings: Settings): Promise<string> {
  const schema = await migrationsSchema(client, settings.migrations.table);
  if (!schema) throw noSchemaError('BACKFILL_FAILED', 'the backfill tables', 'resolve the backfill tables');
  return schema;
}

async function countRows(backfill: Backfill, ctx: BackfillContext): Promise<number> {
  // A count takes no row locks, so the batches' statement timeout does not bound it: on a big table it may take longer.
  await ctx.client.query('BEGIN READ ONLY; SET LOCAL statement_timeout = 0');
  try {
    const value = await backfill.count(ctx);
    const count = countValue(value);
    if (count === undefined) throw new TidemarkError('BACKFILL_FAILED', 'count() broke the backfill contract', { operation: `count the rows of backfill ${backfill.name}`, cause: `count() returned ${String(value)}; it must be a whole number` });
    return count;
  } catch (err) {
    if (isTidemarkError(err)) throw err;
    throw new TidemarkError('BACKFILL_FAILED', 'count() failed', { operation: `count the rows of backfill ${backfill.name} (${describeScope(ctx.scope)})`, cause: describePgError(err), hint: 'nothing was changed' }, { cause: err });
  } finally {
    await ctx.client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Holds the backfill's advisory lock for this scope around fn; a second run is refused, never made to wait. */
async function withRunLock<T>(client: pg.ClientBase, name: string, scope: Scope, fn: () => Promise<T>): Promise<T> {
  const key = backfillLockKey(name, scope);
  return withAdvisoryLock(client, key, fn, {
    held: async () => {
      const holder = await findLockHolder(client as pg.Client, key);
      return new TidemarkError('BACKFILL_LOCKED', 'the backfill is already running', {
        operation: `run backfill ${name} (${describeScope(scope)})`,
        cause: `another run of it on the same scope holds its lock: ${describeHolder(holder)}`,
        hint: 'nothing was changed; wait for that run to finish, or stop it (SIGINT/SIGTERM stop it after its batch in flight)',
        data: { key: key.toString(), holder },
      });
    },
  });
}

function whoRuns(): { osUser: string | null; clientHost: string | null } {
  let osUser: string | null;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = process.env.USER ?? null;
  }
  return { osUser, clientHost: hostname() || null };
}

/** The batch settings for the whole session; see README "Backfills" for why commits are asynchronous. */
async function applySessionSettings(client: pg.ClientBase, settings: Settings): Promise<void> {
  await client.query("SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false), set_config('synchronous_commit', 'off', false)",
    [`${settings.chores.backfillLockTimeoutMs}ms`, `${settings.chores.backfillStatementTimeoutMs}ms`]);
}

function failure(run: ActiveRun, err: unknown): TidemarkError {
  const after = run.cursor === null ? 'from the start' : `after cursor ${JSON.stringify(run.cursor)}`;
  const code = isPgError(err) ? err.code : undefined;
  const advice = code === '57014' ? 'The batch ran past the statement timeout: lower --batch-size or raise --batch-statement-timeout, then run again to resume.'
    : code === '55P03' ? 'Other sessions held locks on these rows past the lock timeout, several times: run again later to resume, or raise --batch-lock-timeout.'
      : 'Fix the cause and run again to resume, or --restart to begin again.';
  return new TidemarkError('BACKFILL_FAILED', 'a batch failed', {
    operation: `run backfill ${run.backfill.name} (${describeScope(run.ctx.scope)}), batch ${run.batches + 1} ${after}`,
    cause: isTidemarkError(err) ? (err.reason ?? err.message) : isPgError(err) ? describePgError(err) : describeCause(err),
    hint: `it was rolled back; the ${run.batches} batches before it (${run.rows} rows) are committed and checkpointed. ${advice}`,
    data: { rows: run.rows, batches: run.batches, cursor: run.cursor },
  }, { cause: err });
}

async function dryRun(backfill: Backfill, ctx: BackfillContext, tables: BackfillTables, started: number): Promise<BackfillReport> {
  const count = await countRows(backfill, ctx);
  const key = scopeKey(ctx.scope);
  const resumed = (await backfillTablesExist(ctx.client, tables)) ? await readCheckpoint(ctx.client, tables, backfill.name, key) : undefined;
  return {
    backfill: backfill.name, description: backfill.description, scope: ctx.scope, outcome: 'dry-run',
    count, rows: 0, batches: 0, durationMs: performance.now() - started, ...(resumed && { resumed }),
  };
}

async function runPass(settings: Settings, backfill: Backfill, ctx: BackfillContext, tables: BackfillTables, options: BackfillOptions): Promise<BackfillReport> {
  const client = ctx.client;
  await ensureBackfillTables(client, tables);
  await applySessionSettings(client, settings);
  const total = options.estimate ? await countRows(backfill, ctx) : null;
  const key = scopeKey(ctx.scope);
  const identity = { backfill: backfill.name, scope: { ...ctx.scope }, scopeKey: key, batchSize: ctx.batchSize, ...whoRuns() };
  const { runId, resumed } = await startRun(client, tables, identity, !!options.restart);
  const run: ActiveRun = {
    client, backfill, ctx, tables, key: { backfill: backfill.name, scopeKey: key, runId }, cursor: resumed?.cursor ?? null,
    rows: 0, batches: 0, startedAt: performance.now(), total, sleepMs: options.sleepMs ?? 0, signal: options.signal, onEvent: options.onEvent,
  };
  options.onEvent?.({ type: 'started', backfill: backfill.name, scope: ctx.scope, runId, total, resumed: resumed ?? null });
  let outcome: 'completed' | 'stopped';
  try {
    outcome = await runBatches(run);
  } catch (err) {
    const totals = { rows: run.rows, batches: run.batches, durationMs: elapsedMs(run) };
    const error = failure(run, err);
    await endRun(client, tables, runId, 'failed', totals, `${error.operation}: ${error.reason}`).catch(() => undefined);
    throw error;
  }
  if (outcome === 'stopped') await endRun(client, tables, runId, 'stopped', { rows: run.rows, batches: run.batches, durationMs: elapsedMs(run) });
  return {
    backfill: backfill.name, description: backfill.description, scope: ctx.scope, outcome,
    rows: run.rows, batches: run.batches, durationMs: elapsedMs(run), runId, ...(resumed && { resumed }),
  };
}

/**
 * Runs a backfill from the backfills directory (`task backfill`): in
 * batches, each in its own transaction with its checkpoint, under a lock
 * per backfill and scope; resumes an unfinished pass unless `restart`.
 */
export async function runBackfill(settings: Settings, name: string, options: BackfillOptions = {}): Promise<BackfillReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw usage(`batch size ${batchSize}: it must be a whole number of at least 1`);
  if (!Number.isFinite(options.sleepMs ?? 0) || (options.sleepMs ?? 0) < 0) throw usage(`sleep ${options.sleepMs}: it must be 0 or more milliseconds`);
  const scope = options.scope ?? {};
  const backfill = await loadBackfill(settings.chores.backfillsDir, name);
  checkScopeKeys(scope, backfill.scopeKeys, name);
  return withClient(settings.database, { operation: `run backfill ${name}` }, async (client) => {
    try {
      const tables = backfillTables(await storeSchema(client, settings));
      const ctx: BackfillContext = { client, scope, batchSize };
      if (options.dryRun) return await dryRun(backfill, ctx, tables, started);
      return await withRunLock(client, name, scope, () => runPass(settings, backfill, ctx, tables, options));
    } catch (err) {
      if (isTidemarkError(err)) throw err;
      throw new TidemarkError('BACKFILL_FAILED', 'cannot run the backfill', {
        operation: `${options.dryRun ? 'dry-run' : 'prepare'} backfill ${name} (${describeScope(scope)})`, cause: describePgError(err), hint: 'no batch ran',
      }, { cause: err });
    }
  });
}
