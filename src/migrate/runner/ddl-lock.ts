/**
 * A migration's DDL that waits for a table lock queues every later query on
 * that table behind it: one ALTER TABLE waiting for a long transaction stops
 * the application. So each migration runs under PostgreSQL's lock_timeout
 * (--ddl-lock-timeout), and a try that timed out is undone (rolled back, or
 * for a statement outside a transaction: it did not run) and tried again
 * after a pause, a few times (--ddl-retries). The queue drains while the
 * runner pauses.
 *
 * Not to be confused with --lock-timeout: that is how long a run waits for
 * the migration lock, the advisory lock that keeps two runs apart.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { importExternal } from '../../import-external.js';
import { isPgError } from '../../pg-errors.js';
import { splitStatements } from '../../sql/split.js';
import type { BackendWatcher, LockWait } from './backend-watch.js';

// lock_not_available: lock_timeout ran out, or a NOWAIT found the lock taken.
const LOCK_NOT_AVAILABLE = '55P03';

/** The pause before retry n (1, 2, ...): 1 s, 2 s, 4 s, ... at most 30 s, each ±25 % so that waiting runs do not retry in step. */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_JITTER = 0.25;

export function backoffMs(retry: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_BASE_MS * 2 ** (retry - 1), BACKOFF_MAX_MS);
  return Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random()));
}

export function isLockTimeout(err: unknown): boolean {
  return isPgError(err) && err.code === LOCK_NOT_AVAILABLE;
}

/** A try that failed for a lock timeout and was undone; the retry loop decides what follows. */
export class LockTimedOut extends Error {
  constructor(readonly pgError: Error) {
    super(pgError.message, { cause: pgError });
  }
}

/** Under which lock_timeout a step runs. */
export interface StepLockTimeout {
  /** What tidemark sets, or what the file sets (0 when that cannot be told); 0 for none. */
  ms: number;
  /** 'tidemark': the setting; 'migration': the file sets its own; 'none': --ddl-lock-timeout 0. */
  source: 'tidemark' | 'migration' | 'none';
}

const MENTIONS_LOCK_TIMEOUT = /lock_timeout/i;
const SET_CONFIG_LOCK_TIMEOUT = /set_config\s*\(\s*'lock_timeout'/i;
const PG_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

type ConstValue = { sval?: { sval?: string }; ival?: { ival?: number }; fval?: { fval?: string } };
type SetStmt = { name?: string; kind?: string; args?: Array<{ A_Const?: ConstValue }> };

/** A lock_timeout value as PostgreSQL reads it (`'2s'`, `2000`, `'1min'`), in ms; 0 when it cannot be told. */
function settingMs(stmt: SetStmt): number {
  const value = stmt.kind === 'VAR_SET_VALUE' ? stmt.args?.[0]?.A_Const : undefined;
  if (!value) return 0;
  if (value.ival) return value.ival.ival ?? 0;
  const match = String(value.sval?.sval ?? value.fval?.fval ?? '').trim().match(/^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$/);
  return match ? Math.round(Number(match[1]) * PG_UNITS[match[2] ?? 'ms']) : 0;
}

/** The lock_timeout one statement sets (SET [LOCAL|SESSION], RESET, set_config): its value in ms, 0 if unknown; undefined when it sets none. */
async function lockTimeoutSetBy(text: string): Promise<number | undefined> {
  if (SET_CONFIG_LOCK_TIMEOUT.test(text)) return 0;
  const { parse } = await importExternal<typeof import('libpg-query')>('libpg-query');
  const parsed = (await parse(text).catch(() => undefined)) as { stmts?: Array<{ stmt: { VariableSetStmt?: SetStmt } }> } | undefined;
  const set = parsed?.stmts?.map((s) => s.stmt.VariableSetStmt).find((v) => v?.name === 'lock_timeout');
  return set ? settingMs(set) : undefined;
}

/**
 * The lock_timeout the file sets itself, if it does (then its own is kept):
 * the shortest value it sets, 0 when none can be told. Only files that name
 * lock_timeout at all are parsed; in a comment or a string it does not count.
 */
export async function ownLockTimeout(sql: string): Promise<number | undefined> {
  if (!MENTIONS_LOCK_TIMEOUT.test(sql)) return undefined;
  const statements = await splitStatements(sql).catch(() => []);
  let own: number | undefined;
  for (const s of statements) {
    const ms = MENTIONS_LOCK_TIMEOUT.test(s.text) ? await lockTimeoutSetBy(s.text) : undefined;
    if (ms !== undefined) own = own === undefined || (ms > 0 && (own === 0 || ms < own)) ? ms : own;
  }
  return own;
}

export async function stepLockTimeout(configuredMs: number, sql: string): Promise<StepLockTimeout> {
  const own = await ownLockTimeout(sql);
  if (own !== undefined) return { ms: own, source: 'migration' };
  return configuredMs > 0 ? { ms: configuredMs, source: 'tidemark' } : { ms: 0, source: 'none' };
}

export function seconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(2))} s` : `${Math.round(ms)} ms`;
}

/** `lock_timeout 5 s`, or where the timeout came from when tidemark set none. */
export function lockTimeoutText(timeout: StepLockTimeout): string {
  if (timeout.source === 'tidemark') return `lock_timeout ${seconds(timeout.ms)}`;
  if (timeout.source === 'migration') return timeout.ms ? `lock_timeout ${seconds(timeout.ms)}, set by the migration` : 'the lock_timeout the migration sets';
  return 'the lock_timeout of the connection';
}

/** A retry as told to the caller: which try, how long the pause, who held the lock. */
export interface LockRetry {
  /** 1 for the first retry. */
  attempt: number;
  retries: number;
  delayMs: number;
  lockTimeout: StepLockTimeout;
  /** Who held the lock, as last seen while the try waited; absent when no look fell within the wait. */
  wait?: LockWait;
  /** In a file run statement by statement: the one that is tried again (1-based), and its line. */
  statement?: { index: number; total: number; line: number };
  /** Invalid indexes that the timed-out CREATE INDEX CONCURRENTLY left; dropped before the retry. */
  invalidIndexes?: string[];
}

/** What one retried unit (a transactional file, or one statement) says at each turn. */
export interface RetryScope {
  statement?: LockRetry['statement'];
  /** A unit that a timeout may have left half done: it is not retried. */
  noRetry?: boolean;
  /** What the timed-out try left behind (invalid indexes), for the retry event. */
  leftBehind?: () => string[];
  /** The error when no retry is left. */
  exhausted(err: LockTimedOut, wait: LockWait | undefined, tries: number): Error | Promise<Error>;
  /** The error when an interrupt comes during the pause. */
  interrupted(): Error;
}

export interface RetryContext {
  retries: number;
  lockTimeout: StepLockTimeout;
  watcher?: BackendWatcher;
  signal?: AbortSignal;
  onRetry?: (retry: LockRetry) => void;
}

/** Waits, or returns false at once when the run is asked to stop. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return false;
  await sleep(ms, undefined, { signal }).catch(() => undefined);
  return !signal?.aborted;
}

/** Runs `tryOnce`, trying again after each lock timeout while retries are left. */
export async function withLockRetries<T>(ctx: RetryContext, scope: RetryScope, tryOnce: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) ctx.watcher?.newTry();
    else ctx.watcher?.forget();
    try {
      return await tryOnce();
    } catch (err) {
      if (!(err instanceof LockTimedOut)) throw err;
      const wait = ctx.watcher?.lastWait();
      ctx.watcher?.pause();
      if (attempt > (scope.noRetry ? 0 : ctx.retries)) throw await scope.exhausted(err, wait, attempt);
      const delayMs = backoffMs(attempt);
      const left = scope.leftBehind?.() ?? [];
      ctx.onRetry?.({
        attempt, retries: ctx.retries, delayMs, lockTimeout: ctx.lockTimeout, wait,
        ...(scope.statement && { statement: scope.statement }), ...(left.length && { invalidIndexes: left }),
      });
      if (!(await pause(delayMs, ctx.signal))) throw scope.interrupted();
    }
  }
}
