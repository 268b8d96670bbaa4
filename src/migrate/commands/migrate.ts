import type { Settings } from '../../config.js';
import type { MigrationSet } from '../source/index.js';
import { applyUp, runSessionOptions, type ApplyUpOptions } from '../runner/apply.js';
import type { RunReport } from '../runner/run.js';
import { withSession } from '../runner/session.js';

export interface MigrateOptions extends ApplyUpOptions {
  source?: MigrationSet;
}

/** Applies pending migrations in version order under the migration lock (`task migrate`). */
export async function migrate(settings: Settings, options: MigrateOptions = {}): Promise<RunReport> {
  const operation = options.dryRun ? 'plan pending migrations' : 'apply pending migrations';
  // Checksums read every applied up file: reading starts while the connection is set up.
  const sessionOptions = { ...runSessionOptions(options, operation), readUpFiles: !options.ignoreChecksums };
  return withSession(settings, sessionOptions, (session) => applyUp(session, options, operation));
}
