/**
 * A file outside a transaction (`-- tidemark:no-transaction`, or a single
 * statement PostgreSQL refuses in a transaction block) runs one statement
 * at a time. Under the step's lock_timeout, set for the session before the
 * first statement (and reset with the rest of the session after the file),
 * a statement that times out did not run, while those before it did: that
 * statement alone is tried again.
 */
import { TidemarkError } from '../../errors.js';
import { isConnectionLost } from '../../db/connect.js';
import { describePgError, type SqlContext } from '../../pg-errors.js';
import { splitStatements, SqlSyntaxError, type SqlStatement } from '../../sql/split.js';
import { cancellableQuery, isOurCancel, StoppedBeforeSendingError } from './cancel.js';
import { concurrentKind, dropIndexes, invalidIndexes } from './concurrent-index.js';
import { isLockTimeout, LockTimedOut, withLockRetries, type RetryScope } from './ddl-lock.js';
import { interruptedInStatementPause, statementExhausted, type StatementPlace } from './ddl-lock-errors.js';
import type { Step } from './plan.js';
import { queryTarget, retryContext, rolledBackHint, stepError, type RunningStep } from './step-context.js';

/** Statements of a run outside a transaction, counted, so that a failure can say how many stay applied. */
export interface PartialRun {
  done: number;
  total: number;
}

export function doneText(progress: PartialRun): string {
  if (progress.total === 1) return progress.done ? 'the file ran' : 'the file did not complete';
  if (progress.done === 0) return `no statement of ${progress.total} ran to completion`;
  return `statement${progress.done === 1 ? ' 1' : `s 1-${progress.done}`} of ${progress.total} ran and stay${progress.done === 1 ? 's' : ''} applied`;
}

/** A statement that failed for its own reason (not a lock timeout, an interrupt or a lost connection). */
export class StatementError extends Error {}

export async function splitOrRefuse(sql: string, step: Step): Promise<SqlStatement[]> {
  try {
    return await splitStatements(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) {
      throw stepError(step, `${err.message}${err.line ? ` (line ${err.line})` : ''}; nothing was run`, rolledBackHint(step), err);
    }
    throw err;
  }
}

/** A lock timeout of this try (not the cancel of an interrupt) becomes LockTimedOut, for the retry loop. */
async function asTry(ctx: RunningStep, work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!isOurCancel(err, ctx.signal) && isLockTimeout(err)) throw new LockTimedOut(err as Error);
    throw err;
  }
}

/** After the last try: the leftovers are dropped if they can be, else named. */
async function finalCleanUp(ctx: RunningStep, names: string[]): Promise<string> {
  if (!names.length) return '';
  try {
    await dropIndexes(ctx.session.client, names);
    return `the invalid index it left (${names.join(', ')}) was dropped`;
  } catch (err) {
    return `it left the invalid index ${names.join(', ')}, which could not be dropped (${describePgError(err)}): drop it first, DROP INDEX CONCURRENTLY ${names.join(', ')}`;
  }
}

/**
 * One statement, tried again after each lock timeout. For CREATE INDEX
 * CONCURRENTLY, what a timed-out try left is dropped at the start of the
 * next try, after the pause, when the session that blocked it may be gone.
 */
async function runWithRetries(ctx: RunningStep, step: Step, statement: SqlStatement, place: StatementPlace): Promise<void> {
  const concurrent = await concurrentKind(statement.text);
  const target = concurrent.kind === 'create-index' ? concurrent.target : undefined;
  let left: string[] = [];
  const notRetried = concurrent.kind === 'other' ? `${concurrent.statement} is not retried: a try that timed out may have committed part of its work` : '';
  const scope: RetryScope = {
    statement: { index: place.index, total: place.total, line: place.line },
    noRetry: !!notRetried,
    leftBehind: () => left,
    exhausted: async (err, wait, tries) => {
      const note = [notRetried, await finalCleanUp(ctx, left)].filter(Boolean).join('; ');
      return statementExhausted({ step, err, wait, attempts: tries, timeout: ctx.lockTimeout }, place, note);
    },
    interrupted: () => interruptedInStatementPause(ctx.signal, step, place, left),
  };
  await withLockRetries(retryContext(ctx), scope, async () => {
    // A drop that itself times out is one more timed-out try.
    if (left.length) await asTry(ctx, dropIndexes(ctx.session.client, left));
    left = [];
    const before = target ? await invalidIndexes(ctx.session.client, target) : [];
    try {
      await asTry(ctx, cancellableQuery(queryTarget(ctx), statement.text));
    } catch (err) {
      if (err instanceof LockTimedOut && target) left = (await invalidIndexes(ctx.session.client, target)).filter((n) => !before.includes(n));
      throw err;
    }
  });
}

/** The statements in order; an interrupt between two stops before the next one. */
export function statementRunner(ctx: RunningStep, step: Step, statements: SqlStatement[], options: { wholeFile?: boolean } = {}): (progress: PartialRun) => Promise<void> {
  return async (progress) => {
    progress.total = statements.length;
    if (ctx.lockTimeout.source === 'tidemark') await ctx.session.client.query(`SET lock_timeout = '${ctx.lockTimeout.ms}ms'`);
    for (const [index, statement] of statements.entries()) {
      if (ctx.signal?.aborted) throw new StoppedBeforeSendingError();
      const place: StatementPlace = { done: progress.done, total: statements.length, index: index + 1, line: statement.line };
      try {
        await runWithRetries(ctx, step, statement, place);
        progress.done = index + 1;
      } catch (err) {
        if (err instanceof TidemarkError || isOurCancel(err, ctx.signal) || isConnectionLost(err)) throw err;
        if (options.wholeFile) throw new StatementError(`${describePgError(err)}\n${doneText(progress)}`, { cause: err });
        const context: SqlContext = { sql: statement.text, firstLine: statement.line };
        throw new StatementError(`statement ${index + 1} of ${statements.length}: ${describePgError(err, context)}\n${doneText(progress)}`, { cause: err });
      }
    }
  };
}
