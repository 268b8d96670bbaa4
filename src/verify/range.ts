/**
 * Which migrations a verification checks, and which it only applies on the
 * way: by default the ones pending in the configured database, each after
 * the migrations before it (the schema they expect to build on).
 */
import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import type { Migration, MigrationSet } from '../migrate/source/types.js';
import { withSession } from '../migrate/runner/session.js';
import { loadState } from '../migrate/runner/state.js';

export interface RangeOptions {
  /** Every migration of the source. */
  all?: boolean;
  /** The lowest version to check (default: the first). */
  from?: bigint;
  /** The highest version to check (default: the last). */
  to?: bigint;
}

/** A migration in the order they run, and whether its down is checked or it only builds the starting point. */
export interface PlannedMigration {
  migration: Migration;
  check: boolean;
}

function rangeError(operation: string, cause: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid range', { operation, cause, hint: 'give --all, or --from V and/or --to W with versions of existing migrations' });
}

/** The versions pending in the configured database (read-only: no lock, no table created). */
export async function pendingVersions(settings: Settings, source: MigrationSet, operation: string): Promise<Set<bigint>> {
  return withSession(settings, { source, lock: false, operation }, async (session) => {
    const { classification } = await loadState(session);
    return new Set(classification.entries.filter((e) => e.state === 'pending' && e.migration).map((e) => e.version));
  });
}

export function checkRange(options: RangeOptions, operation: string): void {
  if (options.all && (options.from !== undefined || options.to !== undefined)) throw rangeError(operation, '--all checks every migration: give it without --from and --to');
  if (options.from !== undefined && options.to !== undefined && options.from > options.to) throw rangeError(operation, `--from ${options.from} is above --to ${options.to}`);
}

/** The versions a range names: every migration with --all, those within --from/--to. */
export function versionsInRange(source: MigrationSet, options: RangeOptions): Set<bigint> {
  return new Set(source.migrations
    .filter((m) => (options.from === undefined || m.version >= options.from) && (options.to === undefined || m.version <= options.to))
    .map((m) => m.version));
}

/**
 * Every migration up to the last one checked, in version order; with a
 * schema to start from, only the checked ones (the schema stands for the rest).
 */
export function planMigrations(source: MigrationSet, checked: Set<bigint>, fromSchema: boolean): PlannedMigration[] {
  const last = [...checked].reduce<bigint | undefined>((max, v) => (max === undefined || v > max ? v : max), undefined);
  if (last === undefined) return [];
  return source.migrations
    .filter((m) => m.version <= last && (!fromSchema || checked.has(m.version)))
    .map((migration) => ({ migration, check: checked.has(migration.version) }));
}
