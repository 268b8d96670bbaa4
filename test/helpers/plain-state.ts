/**
 * Plain values for the runner's pure parts (classify, plan): migrations whose
 * scripts are never read, a version row, history records. No database.
 */
import type { HistoryDirection, HistoryRecord } from '../../src/migrate/state/history.js';
import type { VersionState } from '../../src/migrate/state/version.js';
import type { Migration, MigrationScript } from '../../src/migrate/source/types.js';

function script(fileName: string, direction: 'up' | 'down'): MigrationScript {
  return { fileName, direction, load: () => ({ sql: `-- ${fileName}`, checksum: `sum-${fileName}`, byteOrderMark: false }) };
}

/** A migration with both files unless told otherwise. */
export function migration(version: number, name = `m${version}`, files: { up?: boolean; down?: boolean } = {}): Migration {
  const base = `${String(version).padStart(6, '0')}_${name}`;
  return {
    version: BigInt(version),
    name,
    ...(files.up !== false && { up: script(`${base}.up.sql`, 'up') }),
    ...(files.down !== false && { down: script(`${base}.down.sql`, 'down') }),
  };
}

export function migrations(...versions: number[]): Migration[] {
  return versions.map((v) => migration(v));
}

/** The version row: null for none (or no table at all when `tables` is false). */
export function versionRow(version: number | null, options: { dirty?: boolean; tables?: boolean } = {}): VersionState {
  const tables = options.tables ?? true;
  return { versionTableExists: tables, historyTableExists: tables, version: version === null ? null : BigInt(version), dirty: !!options.dirty };
}

const EPOCH = Date.UTC(2026, 0, 1);

/** One history record; versions as numbers, null for none. */
export function event(direction: HistoryDirection, version: number, from: number | null, to: number | null, name = `m${version}`): HistoryRecord {
  const big = (v: number | null) => (v === null ? null : BigInt(v));
  const checksum = direction === 'up' || direction === 'bootstrap' ? `sum-${version}` : null;
  const mode = direction === 'up' || direction === 'down' ? 'transaction' : null;
  return { version: BigInt(version), name, direction, fromVersion: big(from), toVersion: big(to), checksum, mode, startedAt: new Date(EPOCH + version * 1_000) };
}

/** Up events applying `versions` one after the other, from none. */
export function appliedInOrder(...versions: number[]): HistoryRecord[] {
  return versions.map((v, i) => event('up', v, i ? versions[i - 1] : null, v));
}
