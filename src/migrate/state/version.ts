import type pg from 'pg';
import type { StateTables } from './tables.js';

export interface VersionState {
  versionTableExists: boolean;
  historyTableExists: boolean;
  /** null: no version recorded (golang-migrate's NilVersion). */
  version: bigint | null;
  dirty: boolean;
}

export interface TablesPresent {
  versionTableExists: boolean;
  historyTableExists: boolean;
}

export async function findStateTables(client: pg.Client, t: StateTables): Promise<TablesPresent> {
  const { rows } = await client.query({
    text: 'SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL',
    values: [t.version, t.history],
    rowMode: 'array',
  });
  const [versionTableExists, historyTableExists] = rows[0] as [boolean, boolean];
  return { versionTableExists, historyTableExists };
}

export function versionRowSql(t: StateTables): string {
  return `SELECT version, dirty FROM ${t.version} LIMIT 1`;
}

/** The state from the version table's row (rowMode array), or from its absence. */
export function versionStateFrom(present: TablesPresent, row: [string, boolean] | undefined): VersionState {
  if (!present.versionTableExists || !row) return { ...present, version: null, dirty: false };
  const version = BigInt(row[0]);
  return { ...present, version: version < 0n ? null : version, dirty: row[1] };
}

export async function readVersionState(client: pg.Client, t: StateTables): Promise<VersionState> {
  const present = await findStateTables(client, t);
  if (!present.versionTableExists) return versionStateFrom(present, undefined);
  const result = await client.query({ text: versionRowSql(t), rowMode: 'array' });
  return versionStateFrom(present, result.rows[0] as [string, boolean] | undefined);
}
