import type { Settings } from '../config.js';
import type { MigrationSet } from '../source/index.js';
import { assertChecksumsMatch, assertInOrder, assertNotDirty } from '../runner/checks.js';
import { planUp } from '../runner/plan.js';
import { runSteps, type RunOptions, type RunReport } from '../runner/run.js';
import { withSession } from '../runner/session.js';
import { loadState, prepareForWrite, type LoadedState } from '../runner/state.js';
import type { Session } from '../runner/session.js';

export interface MigrateOptions extends RunOptions {
  /** Apply at most this many migrations. */
  steps?: number;
  /** Apply nothing above this version. */
  target?: bigint;
  allowOutOfOrder?: boolean;
  ignoreChecksums?: boolean;
  source?: MigrationSet;
}

export function sourceWarnings(session: Session, loaded: LoadedState): string[] {
  const warnings = [...session.source.warnings];
  for (const e of loaded.classification.entries) {
    if (e.missingFile) warnings.push(`version ${e.version}${e.name ? ` (${e.name})` : ''} is recorded as applied, but its file is missing`);
  }
  return warnings;
}

/** Checks that hold before any migration runs, for migrate and goto. */
export async function preflightUp(loaded: LoadedState, options: MigrateOptions, operation: string): Promise<void> {
  assertNotDirty(loaded, operation);
  if (!options.ignoreChecksums) await assertChecksumsMatch(loaded.classification.entries, operation);
  if (!options.allowOutOfOrder) assertInOrder(loaded.classification.entries, loaded.state.version, operation);
}

export async function applyUp(session: Session, options: MigrateOptions, operation: string): Promise<RunReport> {
  let loaded = await loadState(session);
  await preflightUp(loaded, options, operation);
  const warnings = sourceWarnings(session, loaded);
  warnings.forEach((message) => options.onEvent?.({ type: 'warning', message }));
  const steps = planUp(loaded.classification, loaded.state.version, options);
  if (!options.dryRun && steps.length) loaded = await prepareForWrite(session, loaded);
  return runSteps(session, steps, loaded.state.version, warnings, options);
}

/** Applies pending migrations in version order under the migration lock (`task migrate`). */
export async function migrate(settings: Settings, options: MigrateOptions = {}): Promise<RunReport> {
  const operation = options.dryRun ? 'plan pending migrations' : 'apply pending migrations';
  return withSession(settings, { source: options.source, lock: !options.dryRun, operation, readUpFiles: !options.ignoreChecksums, onLockWait: (holder) => options.onEvent?.({ type: 'lock-wait', holder }), signal: options.signal },
    (session) => applyUp(session, options, operation));
}
