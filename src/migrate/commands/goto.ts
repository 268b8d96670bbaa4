import type { Settings } from '../../config.js';
import type { MigrationSet } from '../source/index.js';
import { applyTo, runSessionOptions, type ApplyUpOptions } from '../runner/apply.js';
import type { RunReport } from '../runner/run.js';
import { withSession } from '../runner/session.js';

export interface GotoOptions extends Omit<ApplyUpOptions, 'steps' | 'target'> {
  source?: MigrationSet;
}

/** Up or down to exactly `version`, which must be a migration's version, or 0 for none (`task migrate:goto`). */
export async function migrateGoto(settings: Settings, version: bigint, options: GotoOptions = {}): Promise<RunReport> {
  const operation = `go to version ${version}`;
  return withSession(settings, runSessionOptions(options, operation), (session) => applyTo(session, version, options, operation));
}
