/**
 * Applying and rolling back, for every command that runs migrations: read
 * the state, refuse what must not run, plan, prepare the tables, run the
 * steps. migrate, down and goto differ only in the plan they ask for.
 */
import { TidemarkError } from '../../errors.js';
import type { MigrationSet } from '../source/types.js';
import { assertChecksumsMatch, assertInOrder, assertNotDirty } from './checks.js';
import { planDown, planUp, type DownTarget, type UpOptions } from './plan.js';
import { runSteps, type RunOptions, type RunReport } from './run.js';
import type { Session, SessionOptions } from './session.js';
import { loadState, prepareForWrite, type LoadedState } from './state.js';

export interface ApplyUpOptions extends RunOptions, UpOptions {
  ignoreChecksums?: boolean;
}

/**
 * The session a run needs: the lock unless it is a dry run (which changes
 * nothing and so waits for no one), and lock waits told as events.
 */
export function runSessionOptions(options: RunOptions & { source?: MigrationSet }, operation: string): SessionOptions {
  return {
    source: options.source, lock: !options.dryRun, operation, signal: options.signal,
    onLockWait: (holder) => options.onEvent?.({ type: 'lock-wait', holder }),
  };
}

function sourceWarnings(session: Session, loaded: LoadedState): string[] {
  const warnings = [...session.source.warnings];
  for (const e of loaded.classification.entries) {
    if (e.missingFile) warnings.push(`version ${e.version}${e.name ? ` (${e.name})` : ''} is recorded as applied, but its file is missing`);
  }
  return warnings;
}

/** Checks that hold before any migration runs up. */
async function preflightUp(loaded: LoadedState, options: ApplyUpOptions, operation: string): Promise<void> {
  assertNotDirty(loaded, operation);
  if (!options.ignoreChecksums) await assertChecksumsMatch(loaded.classification.entries, operation);
  if (!options.allowOutOfOrder) assertInOrder(loaded.classification.entries, loaded.state.version, operation);
}

/** Applies pending migrations (at most `steps`, none above `target`). */
export async function applyUp(session: Session, options: ApplyUpOptions, operation: string): Promise<RunReport> {
  let loaded = await loadState(session);
  await preflightUp(loaded, options, operation);
  const warnings = sourceWarnings(session, loaded);
  warnings.forEach((message) => options.onEvent?.({ type: 'warning', message }));
  const steps = planUp(loaded.classification, loaded.state.version, options);
  if (!options.dryRun && steps.length) loaded = await prepareForWrite(session, loaded);
  return runSteps(session, steps, loaded.state.version, warnings, options);
}

/** Rolls back applied migrations, newest first, as far as `target` says. */
export async function applyDown(session: Session, target: DownTarget, options: RunOptions, operation: string): Promise<RunReport> {
  let loaded = await loadState(session);
  assertNotDirty(loaded, operation);
  const warnings = sourceWarnings(session, loaded);
  const steps = planDown(loaded.classification, target);
  if (!options.dryRun && steps.length) loaded = await prepareForWrite(session, loaded);
  return runSteps(session, steps, loaded.state.version, warnings, options);
}

/** Up or down to exactly `version`, a migration's version or 0 for none. */
export async function applyTo(
  session: Session, version: bigint, options: Omit<ApplyUpOptions, 'steps' | 'target'>, operation: string,
): Promise<RunReport> {
  const exists = session.source.migrations.some((m) => m.version === version);
  if (!exists && version !== 0n) {
    throw new TidemarkError('INVALID_VERSION', 'no such migration', {
      operation,
      cause: `there is no migration with version ${version} in ${session.source.origin}`,
      hint: 'give the version of an existing migration, or 0 for none',
    });
  }
  const target = exists ? version : null;
  const { state } = await loadState(session);
  const current = state.version;
  const down = target === null || (current !== null && target < current);
  if (down) return applyDown(session, { to: target }, options, operation);
  return applyUp(session, { ...options, target }, operation);
}
