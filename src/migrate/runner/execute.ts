import { TidemarkError, abortSignalName, interruptedError } from '../../errors.js';
import { isConnectionLost } from '../../db/connect.js';
import { describePgError, isPgError } from '../../pg-errors.js';
import type { ExecutionMode } from '../state/history.js';
import { markDirty, recordStepSql } from '../state/store.js';
import { managesOwnTransaction, splitStatements, wantsNoTransaction } from '../../sql/split.js';
import { cancellableQuery, dropConnection, isOurCancel } from './cancel.js';
import { locateWithoutPosition } from './locate.js';
import { watchBackend } from './backend-watch.js';
import { isLockTimeout, LockTimedOut, stepLockTimeout, withLockRetries } from './ddl-lock.js';
import { interruptedInTransactionPause, transactionExhausted } from './ddl-lock-errors.js';
import type { Step } from './plan.js';
import { stateAfterLoss } from './reconnect.js';
import {
  describeStep, dirtyHint, dirtyVersion, queryTarget, retryContext, rolledBackHint, stepError, versionLabel, type RunningStep, type StepContext,
} from './step-context.js';
import { doneText, splitOrRefuse, StatementError, statementRunner, type PartialRun } from './statements.js';

export { describeStep, versionLabel, type StepContext };

export interface StepResult {
  step: Step;
  mode: ExecutionMode;
  durationMs: number;
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

async function describeFailure(err: unknown, sql: string, offset: number): Promise<string> {
  if (!isPgError(err) || err.position) return describePgError(err, { sql, offset });
  const { context, candidateLines } = await locateWithoutPosition(sql, err.message);
  const text = describePgError(err, context);
  return candidateLines ? `${text}\nPostgreSQL gave no position; the statements naming it start at line${candidateLines.length > 1 ? 's' : ''} ${candidateLines.join(', ')}` : text;
}

/** BEGIN, and the step's lock_timeout for this transaction only: in the same round trip as the file, it costs nothing. */
function transactionStart(ctx: RunningStep): string {
  return ctx.lockTimeout.source === 'tidemark' ? `${BEGIN}SET LOCAL lock_timeout = '${ctx.lockTimeout.ms}ms';\n` : BEGIN;
}

/** The file, a reset of session settings, its version row and its history row: one transaction, one round trip. */
async function runInTransaction(ctx: RunningStep, step: Step, sql: string, checksum: string): Promise<'done' | 'needs-unwrapped'> {
  const record = recordStepSql(ctx.session.tables, step, { mode: 'transaction', checksum, durationMs: 'transaction' });
  const start = transactionStart(ctx);
  const text = `${start}${sql}\n;\n${RESET_SESSION};\n${record};\nCOMMIT;`;
  try {
    await cancellableQuery(queryTarget(ctx), text);
    return 'done';
  } catch (err) {
    if (isOurCancel(err, ctx.signal)) throw await interrupted(ctx, step, `migration ${step.version} (${step.script.fileName}) was cancelled on the server`);
    if (isConnectionLost(err)) throw await lostConnection(ctx, step, err);
    await ctx.session.client.query('ROLLBACK').catch(() => undefined);
    if (isPgError(err) && err.code === ACTIVE_SQL_TRANSACTION) return 'needs-unwrapped';
    if (isLockTimeout(err)) throw new LockTimedOut(err as Error);
    throw stepError(step, await describeFailure(err, sql, start.length), rolledBackHint(step), err, { dirty: false });
  }
}

/** The transaction, tried again after each lock timeout: a timed-out try was rolled back whole. */
function runInTransactionWithRetries(ctx: RunningStep, step: Step, sql: string, checksum: string): Promise<'done' | 'needs-unwrapped'> {
  return withLockRetries(retryContext(ctx), {
    exhausted: (err, wait, tries) => transactionExhausted({ step, err, wait, attempts: tries, timeout: ctx.lockTimeout }),
    interrupted: () => interruptedInTransactionPause(ctx.signal, step),
  }, () => runInTransaction(ctx, step, sql, checksum));
}

async function markStepDirty(ctx: StepContext, step: Step): Promise<bigint | null> {
  const dirtyAt = dirtyVersion(step);
  await markDirty(ctx.session, dirtyAt);
  return dirtyAt;
}

/** The client cannot know whether the statement in flight completed before the connection died. */
function runningWhenLost(progress: PartialRun): string {
  if (progress.done >= progress.total) return '';
  const which = progress.total === 1 ? 'the file' : `statement ${progress.done + 1}`;
  return `; ${which} was running when the connection was lost: it may have completed`;
}

/** golang-migrate's protocol for what cannot be wrapped: mark dirty, run, reset the session, clear dirty. */
async function runWithDirtyProtocol(
  ctx: StepContext, step: Step, mode: ExecutionMode, checksum: string, run: (progress: PartialRun) => Promise<void>, total = 1,
): Promise<void> {
  const progress: PartialRun = { done: 0, total };
  const dirtyAt = await markStepDirty(ctx, step).catch(async (err) => {
    // The mark may have been committed before the connection died: the state read again tells; no statement ran.
    if (isConnectionLost(err)) throw await lostConnection(ctx, step, err, doneText(progress));
    throw stepError(step, `cannot mark the version dirty before running: ${describePgError(err)}`, rolledBackHint(step), err);
  });
  const started = performance.now();
  try {
    await run(progress);
    const record = recordStepSql(ctx.session.tables, step, { mode, checksum, durationMs: performance.now() - started });
    await ctx.session.client.query(`${RESET_SESSION};\n${BEGIN}${record};\nCOMMIT;`);
  } catch (err) {
    // Said already: retries ran out, or an interrupt came in the pause before one.
    if (err instanceof TidemarkError) throw err;
    if (isOurCancel(err, ctx.signal)) throw await interrupted(ctx, step, `migration ${step.version} (${step.script.fileName}, ${mode}) was cancelled: ${doneText(progress)}`);
    if (isConnectionLost(err)) throw await lostConnection(ctx, step, err, `${doneText(progress)}${runningWhenLost(progress)}`);
    await ctx.session.client.query('ROLLBACK').catch(() => undefined);
    const cause = err instanceof StatementError ? err.message : `${describePgError(err)}\n${doneText(progress)}`;
    throw stepError(step, cause, dirtyHint(step, dirtyAt), err instanceof StatementError ? err.cause : err, { dirty: true });
  }
}

/**
 * Tries the file in a transaction. A file that PostgreSQL refuses to run in a
 * transaction block is, when it is a single statement, run as golang-migrate
 * runs it; several statements need the no-transaction marker, since sent as
 * one unit they would fail the same way.
 */
async function runTransactionalOrRefuse(ctx: RunningStep, step: Step, sql: string, checksum: string): Promise<'done' | 'unwrap'> {
  if ((await runInTransactionWithRetries(ctx, step, sql, checksum)) === 'done') return 'done';
  const statements = await splitStatements(sql).catch(() => []);
  if (statements.length > 1) {
    throw stepError(step, `a statement in this file cannot run inside a transaction block (SQLSTATE ${ACTIVE_SQL_TRANSACTION}), and the file has ${statements.length} statements`,
      `nothing was changed. Put \`-- tidemark:no-transaction\` on the first line of ${step.script.fileName} to run its statements one by one`);
  }
  return 'unwrap';
}

/**
 * A file that runs its own BEGIN/COMMIT is sent as it is: which part of it
 * ran when a statement failed cannot be known, so it gets no lock_timeout
 * of tidemark's and no retry.
 */
async function runOwnTransactions(ctx: RunningStep, step: Step, sql: string, checksum: string): Promise<void> {
  await runWithDirtyProtocol(ctx, step, 'unwrapped', checksum, async (progress) => {
    await cancellableQuery(queryTarget(ctx), sql);
    progress.done = 1;
  });
}

async function runStep(ctx: RunningStep, step: Step, sql: string, checksum: string): Promise<ExecutionMode> {
  if (wantsNoTransaction(sql)) {
    const statements = await splitOrRefuse(sql, step);
    await runWithDirtyProtocol(ctx, step, 'no-transaction', checksum, statementRunner(ctx, step, statements), statements.length);
    return 'no-transaction';
  }
  if (await managesOwnTransaction(sql)) {
    await runOwnTransactions(ctx, step, sql, checksum);
    return 'unwrapped';
  }
  if ((await runTransactionalOrRefuse(ctx, step, sql, checksum)) === 'done') return 'transaction';
  // One statement that PostgreSQL refuses in a transaction block: run as golang-migrate runs it, retried alone.
  await runWithDirtyProtocol(ctx, step, 'unwrapped', checksum, statementRunner(ctx, step, [{ text: sql, line: 1 }], { wholeFile: true }));
  return 'unwrapped';
}

export async function executeStep(ctx: StepContext, step: Step): Promise<StepResult> {
  const { sql, checksum } = step.script.load();
  const started = performance.now();
  const { client, settings } = ctx.session;
  const lockTimeout = await stepLockTimeout(settings.ddlLockTimeoutMs, sql);
  const watcher = watchBackend(settings.database, client, {
    intervalMs: settings.lockReportIntervalMs, lockTimeoutMs: lockTimeout.ms, onLockWait: ctx.onLockWait, onGone: () => dropConnection(client),
  });
  try {
    const mode = await runStep({ ...ctx, lockTimeout, watcher }, step, sql, checksum);
    return { step, mode, durationMs: performance.now() - started };
  } finally {
    await watcher.stop();
  }
}
