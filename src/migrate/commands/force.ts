import type { Settings } from '../../config.js';
import { TidemarkError } from '../../errors.js';
import { MAX_VERSION } from '../source/parse.js';
import type { MigrationSet } from '../source/index.js';
import { forceVersion, type ForceOutcome } from '../runner/mark.js';
import { withSession } from '../runner/session.js';

export type ForceResult = ForceOutcome;

export function invalidVersion(operation: string, value: string, allowed: string): TidemarkError {
  return new TidemarkError('INVALID_VERSION', 'invalid version', { operation, cause: `"${value}" is not ${allowed}` });
}

/**
 * Sets the version and clears dirty without running SQL, for recovery
 * (`task migrate:force`). -1 empties the table, as in golang-migrate.
 */
export async function migrateForce(settings: Settings, version: bigint, options: { source?: MigrationSet } = {}): Promise<ForceResult> {
  const operation = `force version ${version}`;
  if (version < -1n || version > MAX_VERSION) throw invalidVersion(operation, String(version), `-1 or a whole number from 0 to ${MAX_VERSION}`);
  const target = version === -1n ? null : version;
  return withSession(settings, { source: options.source, lock: true, operation }, (session) => forceVersion(session, target, operation));
}
