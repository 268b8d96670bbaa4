import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import type { MigrationSet } from '../source/index.js';
import { insertHistorySql } from '../state/history.js';
import { createHistoryTableSql, createVersionTableSql, setVersionSql } from '../state/tables.js';
import { withSession } from '../runner/session.js';
import { loadState } from '../runner/state.js';

export interface BootstrapOptions {
  /** Mark migrations up to this version only. */
  to?: bigint;
  /** Proceed even though a version is already recorded. */
  force?: boolean;
  dryRun?: boolean;
  source?: MigrationSet;
}

export interface BootstrapResult {
  dryRun: boolean;
  previousVersion: bigint | null;
  version: bigint | null;
  marked: Array<{ version: bigint; name: string; fileName: string }>;
}

/**
 * Adopts a database built before migrations were used: records migrations as
 * applied, with their checksums, without running them (`task migrate:bootstrap`).
 */
export async function migrateBootstrap(settings: Settings, options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const operation = 'bootstrap the migration state';
  return withSession(settings, { source: options.source, lock: !options.dryRun, operation }, async (session) => {
    const { state } = await loadState(session);
    if (state.version !== null && !options.force) {
      throw new TidemarkError('MIGRATION_BOOTSTRAP_REFUSED', 'a version is already recorded', {
        operation,
        cause: `the database is at version ${state.version}${state.dirty ? ' (dirty)' : ''}; bootstrap is for databases without migration state`,
        hint: 'use `task migrate` for a database under migrations, or pass --force to mark the migrations anyway',
      });
    }
    const to = options.to;
    if (to !== undefined && !session.source.migrations.some((m) => m.version === to)) {
      throw new TidemarkError('INVALID_VERSION', 'no such migration', { operation, cause: `there is no migration with version ${to} in ${session.source.origin}` });
    }
    const chosen = session.source.migrations.filter((m) => m.up && (to === undefined || m.version <= to));
    const version = chosen.at(-1)?.version ?? null;
    const marked = chosen.map((m) => ({ version: m.version, name: m.name, fileName: m.up!.fileName }));
    if (options.dryRun || !chosen.length) return { dryRun: !!options.dryRun, previousVersion: state.version, version: chosen.length ? version : state.version, marked };
    const checksums = await Promise.all(chosen.map(async (m) => (await m.up!.load()).checksum));
    const rows = chosen.map((m, i) => insertHistorySql(session.tables, {
      version: m.version, name: m.name, direction: 'bootstrap', fromVersion: i ? chosen[i - 1].version : state.version, toVersion: m.version, checksum: checksums[i], durationMs: 0,
    }));
    await session.client.query(`BEGIN;\n${[createVersionTableSql(session.tables), createHistoryTableSql(session.tables), setVersionSql(session.tables, version, false), ...rows].join(';\n')};\nCOMMIT;`);
    return { dryRun: false, previousVersion: state.version, version, marked };
  });
}
