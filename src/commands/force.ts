import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import { MAX_VERSION } from '../source/parse.js';
import type { MigrationSet } from '../source/index.js';
import { insertHistorySql } from '../state/history.js';
import { createHistoryTableSql, createVersionTableSql, setVersionSql } from '../state/tables.js';
import { withSession } from '../runner/session.js';
import { loadState } from '../runner/state.js';

export interface ForceResult {
  previousVersion: bigint | null;
  previousDirty: boolean;
  version: bigint | null;
}

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
  return withSession(settings, { source: options.source, lock: true, operation }, async (session) => {
    const { state } = await loadState(session);
    const target = version === -1n ? null : version;
    const name = session.source.migrations.find((m) => m.version === target)?.name ?? '';
    try {
      await session.client.query(`BEGIN;\n${[
        createVersionTableSql(session.tables),
        createHistoryTableSql(session.tables),
        setVersionSql(session.tables, target, false),
        insertHistorySql(session.tables, { version, name, direction: 'force', fromVersion: state.version, toVersion: target, durationMs: 0 }),
      ].join(';\n')};\nCOMMIT;`);
    } catch (err) {
      await session.client.query('ROLLBACK').catch(() => undefined);
      throw new TidemarkError('MIGRATION_FORCE_FAILED', 'cannot force the version', { operation, cause: (err as Error).message }, { cause: err });
    }
    return { previousVersion: state.version, previousDirty: state.dirty, version: target };
  });
}
