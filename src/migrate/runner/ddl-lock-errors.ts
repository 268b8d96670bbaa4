/**
 * What a run says when a migration's lock waits outlast every retry, or when
 * it is interrupted in the pause between two tries: the lock, who held it,
 * and the state the database is in.
 */
import { TidemarkError, abortSignalName, interruptedError } from '../../errors.js';
import { describePgError } from '../../pg-errors.js';
import { describeBlockingSession, describeWaitedLock, type LockWait } from './backend-watch.js';
import { lockTimeoutText, type LockTimedOut, type StepLockTimeout } from './ddl-lock.js';
import type { Step } from './plan.js';
import { describeStep, dirtyVersion, versionLabel } from './step-context.js';

function blockerText(wait: LockWait | undefined): string {
  if (!wait?.holders.length) return 'held by a session that was not seen (the wait ended before a look at the server)';
  return `held by ${wait.holders.map(describeBlockingSession).join('; ')}`;
}

function blockersData(wait: LockWait | undefined): Record<string, unknown>[] {
  return (wait?.holders ?? []).map((h) => ({
    pid: h.pid, application: h.application, user: h.user, state: h.state, since: h.since?.toISOString() ?? null,
    queryStart: h.queryStart?.toISOString() ?? null, query: h.query,
  }));
}

function tries(n: number): string {
  return n === 1 ? 'the only try' : `all ${n} tries`;
}

function cause(err: LockTimedOut, wait: LockWait | undefined, attempts: number, timeout: StepLockTimeout): string {
  const lock = wait ? describeWaitedLock(wait) : 'a lock';
  return `${tries(attempts)} timed out waiting for ${lock} (${lockTimeoutText(timeout)}), ${blockerText(wait)}\n${describePgError(err.pgError)}`;
}

function remedy(pid: number | undefined): string {
  const end = pid === undefined ? 'Find the session that holds the lock (pg_locks, pg_stat_activity), wait for it to finish or end it' : `Wait for that session to finish, or end it (SELECT pg_terminate_backend(${pid}))`;
  return `${end}, and run again; --ddl-lock-timeout and --ddl-retries make the run wait longer`;
}

interface Exhausted {
  step: Step;
  err: LockTimedOut;
  wait: LockWait | undefined;
  attempts: number;
  timeout: StepLockTimeout;
}

function exhaustedError(e: Exhausted, hint: string, data: Record<string, unknown>): TidemarkError {
  return new TidemarkError('MIGRATION_DDL_LOCK_TIMEOUT', 'migration timed out waiting for a table lock', {
    operation: describeStep(e.step),
    cause: cause(e.err, e.wait, e.attempts, e.timeout),
    hint: `${hint}. ${remedy(e.wait?.holders[0]?.pid)}`,
    data: {
      version: e.step.version.toString(), file: e.step.script.fileName, tries: e.attempts,
      lockTimeoutMs: e.timeout.ms || null, lockTimeoutSetBy: e.timeout.source, blockers: blockersData(e.wait), ...data,
    },
  }, { cause: e.err.pgError });
}

/** A transactional migration: every try was rolled back. */
export function transactionExhausted(e: Exhausted): TidemarkError {
  const at = versionLabel(e.step.fromVersion);
  return exhaustedError(e, `nothing was changed: every try was rolled back and the database is still at version ${at}, not dirty`, { dirty: false });
}

/** Where a file run statement by statement stands: how many ran, which one is retried. */
export interface StatementPlace {
  done: number;
  total: number;
  /** 1-based, with its line in the file. */
  index: number;
  line: number;
}

function statementState(step: Step, place: StatementPlace): string {
  const ran = place.done === 0 ? 'no statement before it ran' : `statement${place.done === 1 ? ' 1' : `s 1-${place.done}`} of ${place.total} ran and stay${place.done === 1 ? 's' : ''} applied`;
  return `statement ${place.index} (line ${place.line}) did not run; ${ran}; the database is dirty at version ${versionLabel(dirtyVersion(step))}`;
}

/** A statement of a file outside a transaction: those before it stay applied, the file is marked dirty. */
export function statementExhausted(e: Exhausted, place: StatementPlace, note = ''): TidemarkError {
  const before = e.step.direction === 'up' ? versionLabel(e.step.fromVersion ?? -1n) : String(e.step.version);
  const hint = `${statementState(e.step, place)}${note ? `; ${note}` : ''}. Run the statements from ${place.index} on by hand once the lock is free, then \`task migrate:force -- ${versionLabel(dirtyVersion(e.step) ?? -1n)}\`; or undo statements 1-${place.done} and \`task migrate:force -- ${before}\``;
  return exhaustedError(e, hint, { dirty: true, statement: place.index, line: place.line });
}

export function interruptedInTransactionPause(signal: AbortSignal | undefined, step: Step): TidemarkError {
  const state = `stopped while waiting to retry after a lock timeout: nothing of migration ${step.version} was applied (the try was rolled back); the database is at version ${versionLabel(step.fromVersion)}, not dirty`;
  return interruptedError(abortSignalName(signal), describeStep(step), state, { version: step.version.toString() });
}

export function interruptedInStatementPause(signal: AbortSignal | undefined, step: Step, place: StatementPlace, invalidIndexes: string[] = []): TidemarkError {
  const left = invalidIndexes.length ? `; the timed-out try left the invalid index ${invalidIndexes.join(', ')} (DROP INDEX CONCURRENTLY it)` : '';
  const state = `stopped while waiting to retry statement ${place.index} after a lock timeout: ${statementState(step, place)}${left}`;
  return interruptedError(abortSignalName(signal), describeStep(step), state, { version: step.version.toString(), dirty: true });
}
