import type { Settings } from '../../config.js';
import { TidemarkError } from '../../errors.js';
import type { MigrationSet } from '../source/index.js';
import { applyDown, runSessionOptions } from '../runner/apply.js';
import type { DownTarget } from '../runner/plan.js';
import type { RunOptions, RunReport } from '../runner/run.js';
import { withSession } from '../runner/session.js';

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

function checkOptions(options: DownOptions, operation: string): void {
  if (options.all && !options.yes && !options.dryRun) {
    throw new TidemarkError('CONFIRMATION_REQUIRED', 'rolling back every migration needs confirmation', {
      operation, cause: '--all drops everything the migrations created', hint: 'pass --yes (or answer the prompt on a terminal); try --dry-run first',
    });
  }
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new TidemarkError('INVALID_ARGUMENT', 'invalid step count', { operation, cause: `"${options.count}" is not a positive whole number` });
  }
}

/** Version 0 means "none" unless a migration is numbered 0. */
function downTarget(source: MigrationSet, options: DownOptions): DownTarget {
  if (options.all) return { all: true };
  if (options.to !== undefined) {
    const to = options.to === 0n && !source.migrations.some((m) => m.version === 0n) ? null : options.to;
    return { to };
  }
  return { count: options.count ?? 1 };
}

/** Rolls back applied migrations, newest first (`task migrate:down`). */
export async function migrateDown(settings: Settings, options: DownOptions = {}): Promise<RunReport> {
  const operation = options.dryRun ? 'plan a rollback' : 'roll back migrations';
  checkOptions(options, operation);
  return withSession(settings, runSessionOptions(options, operation),
    (session) => applyDown(session, downTarget(session.source, options), options, operation));
}
