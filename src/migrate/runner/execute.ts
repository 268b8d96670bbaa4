import { TidemarkError, abortSignalName, interruptedError } from '../../errors.js';
import { isConnectionLost } from '../../db/connect.js';
import { describePgError, isPgError, type SqlContext } from '../../pg-errors.js';
import type { ExecutionMode } from '../state/history.js';
import { markDirty, recordStepSql } from '../state/store.js';
import { managesOwnTransaction, splitStatements, SqlSyntaxError, wantsNoTransaction } from '../../sql/split.js';
import { cancellableQuery, dropConnection, isOurCancel, StoppedBeforeSendingError } from './cancel.js';
import { locateWithoutPosition } from './locate.js';
import { watchBackend, type LockWait } from './backend-watch.js';
import type { Step } from './plan.js';
import { stateAfterLoss } from './reconnect.js';
import type { Session } from './session.js';

export interface StepResult {
  step: Step;
  mode: ExecutionMode;
  durationMs: number;
}

/** One step's surroundings: the session it runs in, the run's interrupt, who hears about lock waits. */
export interface StepContext {
  session: Session;
  signal?: AbortSignal;
  onLockWait?: (wait: LockWait) => void;
}

const BEGIN = 'BEGIN;\n';
// PostgreSQL refuses some statements inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM...).
const ACTIVE_SQL_TRANSACTION = '25001';
/**
 * Each migration starts from the connection's own settings, as if it ran
 * alone: what one sets with SET (search_path, statement_timeout, a role) is
 * undone before the next. Inside the migration's transaction this takes
 * effect with its COMMIT, like SET LOCAL.
 */
const RESET_SESSION = 'RESET ALL;\nRESET ROLE;\nRESET SESSION AUTHORIZATION';

export function describeStep(step: Step): string {
  const verb = step.direction === 'up' ? 'apply' : 'roll back';
  return `${verb} migration ${step.version} (${step.script.fileName})`;
}

export function versionLabel(version: bigint | null): string {
  return version === null ? 'none' : String(version);
}

function stepError(step: Step, cause: string, hint: string, err?: unknown, data: Record<string, unknown> = {}): TidemarkError {
  return new TidemarkError(step.direction === 'up' ? 'MIGRATION_UP_FAILED' : 'MIGRATION_DOWN_FAILED', 'migration failed', {
    operation: describeStep(step), cause, hint, data: { version: step.version.toString(), file: step.script.fileName, ...data },
  }, { cause: err });
}

function rolledBackHint(step: Step): string {
  return `nothing was changed: the transaction was rolled back and the database is still at version ${versionLabel(step.fromVersion)}, not dirty`;
}

function dirtyHint(step: Step, dirtyAt: bigint | null): string {
  const before = step.direction === 'up' ? versionLabel(step.fromVersion ?? -1n) : String(step.version);
  return `the database is now dirty at version ${versionLabel(dirtyAt)}: nothing after the failed statement ran. Repair the schema by hand, then mark the real state with \`task migrate:force -- ${before}\` (before this migration) or \`-- ${versionLabel(dirtyAt ?? -1n)}\` (after it)`;
}

/** A failure of the connection itself: the state is read again on a new connection and reported. */
async function lostConnection(ctx: StepContext, step: Step, err: unknown, progress?: string): Promise<TidemarkError> {
  const state = await stateAfterLoss(ctx.session, step);
  const cause = `the connection to the server was lost: ${describePgError(err)}${progress ? `\n${progress}` : ''}`;
  return stepError(step, cause, `after reconnecting: ${state}`, err, { connectionLost: true });
}

/** The run was interrupted while this step ran; the state is read again, on a new connection if need be. */
async function interrupted(ctx: StepContext, step: Step, detail: string): Promise<TidemarkError> {
  await ctx.session.client.query('ROLLBACK').catch(() => undefined);
  const state = await stateAfterLoss(ctx.session, step, 3_000);
  return interruptedError(abortSignalName(ctx.signal), describeStep(step), `${detail}; ${state}`, { version: step.version.toString() });
}

async function describeFailure(err: unknown, sql: string): Promise<string> {
  if (!isPgError(err) || err.position) return describePgError(err, { sql, offset: BEGIN.length });
  const { context, candidateLines } = await locateWithoutPosition(sql, err.message);
  const text = describePgError(err, context);
  return candidateLines ? `${text}\nPostgreSQL gave no position; the statements naming it start at line${candidateLines.length > 1 ? 's' : ''} ${candidateLines.join(', ')}` : text;
}

/** The file, a reset of session settings, its version row and its history row: one transaction, one round trip. */
async function runInTransaction(ctx: StepContext, step: Step, sql: string, checksum: string): Promise<'done' | 'needs-unwrapped'> {
  const record = recordStepSql(ctx.session.tables, step, { mode: 'transaction', checksum, durationMs: 'transaction' });
  const text = `${BEGIN}${sql}\n;\n${RESET_SESSION};\n${record};\nCOMMIT;`;
  try {
    await cancellableQuery({ client: ctx.session.client, database: ctx.session.settings.database, signal: ctx.signal }, text);
    return 'done';
  } catch (err) {
    if (isOurCancel(err, ctx.signal)) throw await interrupted(ctx, step, `migration ${step.version} (${step.script.fileName}) was cancelled on the server`);
    if (isConnectionLost(err)) throw await lostConnection(ctx, step, err);
    await ctx.session.client.query('ROLLBACK').catch(() => undefined);
    if (isPgError(err) && err.code === ACTIVE_SQL_TRANSACTION) return 'needs-unwrapped';
    throw stepError(step, await describeFailure(err, sql), rolledBackHint(step), err, { dirty: false });
  }
}

/** Dirty at the version the step leaves, as golang-migrate marks it; an out-of-order step leaves the version where it is. */
async function markStepDirty(ctx: StepContext, step: Step): Promise<bigint | null> {
  const dirtyAt = step.outOfOrder ? step.fromVersion : step.toVersion;
  await markDirty(ctx.session, dirtyAt);
  return dirtyAt;
}

/** Statements of a run outside a transaction, counted, so that a failure can say how many stay applied. */
interface PartialRun {
  done: number;
  total: number;
}

function doneText(progress: PartialRun): string {
  if (progress.total === 1) return progress.done ? 'the file ran' : 'the file did not complete';
  if (progress.done === 0) return `no statement of ${progress.total} ran to completion`;
  return `statement${progress.done === 1 ? ' 1' : `s 1-${progress.done}`} of ${progress.total} ran and stay${progress.done === 1 ? 's' : ''} applied`;
}

/** The client cannot know whether the statement in flight completed before the connection died. */
function runningWhenLost(progress: PartialRun): string {
  if (progress.done >= progress.total) return '';
  const which = progress.total === 1 ? 'the file' : `statement ${progress.done + 1}`;
  return `; ${which} was running when the connection was lost: it may have completed`;
}

/** golang-migrate's protocol for what cannot be wrapped: mark dirty, run, reset the session, clear dirty. */
async function runWithDirtyProtocol(ctx: StepContext, step: Step, mode: ExecutionMode, checksum: string, run: (progress: PartialRun) => Promise<void>): Promise<void> {
  const dirtyAt = await markStepDirty(ctx, step).catch(async (err) => {
    if (isConnectionLost(err)) throw await lostConnection(ctx, step, err);
    throw stepError(step, `cannot mark the version dirty before running: ${describePgError(err)}`, rolledBackHint(step), err);
  });
  const started = performance.now();
  const progress: PartialRun = { done: 0, total: 1 };
  try {
    await run(progress);
    const record = recordStepSql(ctx.session.tables, step, { mode, checksum, durationMs: performance.now() - started });
    await ctx.session.client.query(`${RESET_SESSION};\n${BEGIN}${record};\nCOMMIT;`);
  } catch (err) {
    if (isOurCancel(err, ctx.signal)) throw await interrupted(ctx, step, `migration ${step.version} (${step.script.fileName}, ${mode}) was cancelled: ${doneText(progress)}`);
    if (isConnectionLost(err)) throw await lostConnection(ctx, step, err, `${doneText(progress)}${runningWhenLost(progress)}`);
    await ctx.session.client.query('ROLLBACK').catch(() => undefined);
    const cause = err instanceof StatementError ? err.message : `${describePgError(err)}\n${doneText(progress)}`;
    throw stepError(step, cause, dirtyHint(step, dirtyAt), err instanceof StatementError ? err.cause : err, { dirty: true });
  }
}

class StatementError extends Error {}

async function splitOrRefuse(sql: string, step: Step) {
  try {
    return await splitStatements(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) {
      throw stepError(step, `${err.message}${err.line ? ` (line ${err.line})` : ''}; nothing was run`, rolledBackHint(step), err);
    }
    throw err;
  }
}

async function runStatements(ctx: StepContext, sql: string, step: Step): Promise<(progress: PartialRun) => Promise<void>> {
  const statements = await splitOrRefuse(sql, step);
  return async (progress) => {
    progress.total = statements.length;
    for (const [index, statement] of statements.entries()) {
      // An interrupt between two statements stops before the next one.
      if (ctx.signal?.aborted) throw new StoppedBeforeSendingError();
      try {
        await cancellableQuery({ client: ctx.session.client, database: ctx.session.settings.database, signal: ctx.signal }, statement.text);
        progress.done = index + 1;
      } catch (err) {
        if (isOurCancel(err, ctx.signal) || isConnectionLost(err)) throw err;
        const context: SqlContext = { sql: statement.text, firstLine: statement.line };
        throw new StatementError(`statement ${index + 1} of ${statements.length}: ${describePgError(err, context)}\n${doneText(progress)}`, { cause: err });
      }
    }
  };
}

/**
 * Tries the file in a transaction. A file that PostgreSQL refuses to run in a
 * transaction block is, when it is a single statement, run as golang-migrate
 * runs it; several statements need the no-transaction marker, since sent as
 * one unit they would fail the same way.
 */
async function runTransactionalOrRefuse(ctx: StepContext, step: Step, sql: string, checksum: string): Promise<'done' | 'unwrap'> {
  if ((await runInTransaction(ctx, step, sql, checksum)) === 'done') return 'done';
  const statements = await splitStatements(sql).catch(() => []);
  if (statements.length > 1) {
    throw stepError(step, `a statement in this file cannot run inside a transaction block (SQLSTATE ${ACTIVE_SQL_TRANSACTION}), and the file has ${statements.length} statements`,
      `nothing was changed. Put \`-- tidemark:no-transaction\` on the first line of ${step.script.fileName} to run its statements one by one`);
  }
  return 'unwrap';
}

async function runStep(ctx: StepContext, step: Step, sql: string, checksum: string): Promise<ExecutionMode> {
  if (wantsNoTransaction(sql)) {
    await runWithDirtyProtocol(ctx, step, 'no-transaction', checksum, await runStatements(ctx, sql, step));
    return 'no-transaction';
  }
  if (!(await managesOwnTransaction(sql)) && (await runTransactionalOrRefuse(ctx, step, sql, checksum)) === 'done') return 'transaction';
  await runWithDirtyProtocol(ctx, step, 'unwrapped', checksum, async (progress) => {
    await cancellableQuery({ client: ctx.session.client, database: ctx.session.settings.database, signal: ctx.signal }, sql);
    progress.done = 1;
  });
  return 'unwrapped';
}

export async function executeStep(ctx: StepContext, step: Step): Promise<StepResult> {
  const { sql, checksum } = await step.script.load();
  const started = performance.now();
  const { client, settings } = ctx.session;
  const stopWatching = watchBackend(settings.database, client, {
    intervalMs: settings.lockReportIntervalMs, onLockWait: ctx.onLockWait, onGone: () => dropConnection(client),
  });
  try {
    const mode = await runStep(ctx, step, sql, checksum);
    return { step, mode, durationMs: performance.now() - started };
  } finally {
    await stopWatching();
  }
}
