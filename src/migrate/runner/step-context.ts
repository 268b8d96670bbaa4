/**
 * What every part of running one step shares: its surroundings (session,
 * interrupt, listeners, lock_timeout, the watch on its backend) and how it is
 * named in errors.
 */
import { TidemarkError } from '../../errors.js';
import type { BackendWatcher, LockWait } from './backend-watch.js';
import type { LockRetry, RetryContext, StepLockTimeout } from './ddl-lock.js';
import type { Step } from './plan.js';
import type { Session } from './session.js';

/** One step's surroundings: the session it runs in, the run's interrupt, who hears about lock waits and retries. */
export interface StepContext {
  session: Session;
  signal?: AbortSignal;
  onLockWait?: (wait: LockWait) => void;
  onRetry?: (retry: LockRetry) => void;
}

/** A step under way: with its lock_timeout and the watch on its backend. */
export interface RunningStep extends StepContext {
  lockTimeout: StepLockTimeout;
  watcher: BackendWatcher;
}

export function retryContext(ctx: RunningStep): RetryContext {
  return { retries: ctx.session.settings.ddlRetries, lockTimeout: ctx.lockTimeout, watcher: ctx.watcher, signal: ctx.signal, onRetry: ctx.onRetry };
}

export function queryTarget(ctx: StepContext) {
  return { client: ctx.session.client, database: ctx.session.settings.database, signal: ctx.signal };
}

export function describeStep(step: Step): string {
  const verb = step.direction === 'up' ? 'apply' : 'roll back';
  return `${verb} migration ${step.version} (${step.script.fileName})`;
}

export function versionLabel(version: bigint | null): string {
  return version === null ? 'none' : String(version);
}

/** Dirty at the version the step leaves, as golang-migrate marks it; an out-of-order step leaves the version where it is. */
export function dirtyVersion(step: Step): bigint | null {
  return step.outOfOrder ? step.fromVersion : step.toVersion;
}

export function stepError(step: Step, cause: string, hint: string, err?: unknown, data: Record<string, unknown> = {}): TidemarkError {
  return new TidemarkError(step.direction === 'up' ? 'MIGRATION_UP_FAILED' : 'MIGRATION_DOWN_FAILED', 'migration failed', {
    operation: describeStep(step), cause, hint, data: { version: step.version.toString(), file: step.script.fileName, ...data },
  }, { cause: err });
}

export function rolledBackHint(step: Step): string {
  return `nothing was changed: the transaction was rolled back and the database is still at version ${versionLabel(step.fromVersion)}, not dirty`;
}

export function dirtyHint(step: Step, dirtyAt: bigint | null): string {
  const before = step.direction === 'up' ? versionLabel(step.fromVersion ?? -1n) : String(step.version);
  return `the database is now dirty at version ${versionLabel(dirtyAt)}: nothing after the failed statement ran. Repair the schema by hand, then mark the real state with \`task migrate:force -- ${before}\` (before this migration) or \`-- ${versionLabel(dirtyAt ?? -1n)}\` (after it)`;
}
