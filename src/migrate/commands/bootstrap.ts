import type { Settings } from '../../config.js';
import type { MigrationSet } from '../source/index.js';
import { markApplied, type MarkOptions, type MarkOutcome } from '../runner/mark.js';
import { withSession } from '../runner/session.js';

export interface BootstrapOptions extends MarkOptions {
  source?: MigrationSet;
}

export type BootstrapResult = MarkOutcome;

/**
 * Adopts a database built before migrations were used: records migrations as
 * applied, with their checksums, without running them (`task migrate:bootstrap`).
 */
export async function migrateBootstrap(settings: Settings, options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const operation = 'bootstrap the migration state';
  return withSession(settings, { source: options.source, lock: !options.dryRun, operation }, (session) => markApplied(session, options, operation));
}
