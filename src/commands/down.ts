import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import type { MigrationSet } from '../source/index.js';
import { assertNotDirty } from '../runner/checks.js';
import { planDown, type DownTarget } from '../runner/plan.js';
import { runSteps, type RunOptions, type RunReport } from '../runner/run.js';
import { withSession, type Session } from '../runner/session.js';
import { loadState, prepareForWrite } from '../runner/state.js';
import { sourceWarnings } from './migrate.js';

export interface DownOptions extends RunOptions {
  /** Roll back this many migrations (default 1). */
  count?: number;
  /** Roll back to this version; 0 (with no migration 0) or null means everything. */
  to?: bigint | null;
  /** Roll back everything; needs `yes`. */
  all?: boolean;
  /** Confirms a destructive `all`. */
  yes?: boolean;
  source?: MigrationSet;
}

function downTarget(session: Session, options: DownOptions): DownTarget {
  if (options.all) return { all: true };
  if (options.to !== undefined) {
    const to = options.to === 0n && !session.source.migrations.some((m) => m.version === 0n) ? null : options.to;
    return { to };
  }
  return { count: options.count ?? 1 };
}

export async function applyDown(session: Session, target: DownTarget, options: RunOptions, operation: string): Promise<RunReport> {
  let loaded = await loadState(session);
  assertNotDirty(loaded, operation);
  const warnings = sourceWarnings(session, loaded);
  const steps = planDown(loaded.classification, target);
  if (!options.dryRun && steps.length) loaded = await prepareForWrite(session, loaded);
  return runSteps(session, steps, loaded.state.version, warnings, options);
}

/** Rolls back applied migrations, newest first (`task migrate:down`). */
export async function migrateDown(settings: Settings, options: DownOptions = {}): Promise<RunReport> {
  const operation = options.dryRun ? 'plan a rollback' : 'roll back migrations';
  if (options.all && !options.yes && !options.dryRun) {
    throw new TidemarkError('CONFIRMATION_REQUIRED', 'rolling back every migration needs confirmation', {
      operation, cause: '--all drops everything the migrations created', hint: 'pass --yes (or answer the prompt on a terminal); try --dry-run first',
    });
  }
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new TidemarkError('INVALID_ARGUMENT', 'invalid step count', { operation, cause: `"${options.count}" is not a positive whole number` });
  }
  return withSession(settings, { source: options.source, lock: !options.dryRun, operation, onLockWait: (holder) => options.onEvent?.({ type: 'lock-wait', holder }), signal: options.signal },
    (session) => applyDown(session, downTarget(session, options), options, operation));
}
